# Free TCP ports on 127.0.0.1 for the local processes of hack/cluster.sh and
# hack/run-local.sh. Source it; it defines functions only.
#
# Ports come from 20000-31999, below Linux' ephemeral range (32768 and up), so
# that outgoing connections do not take them between the check and the start
# of the process that listens on them.

# port_free PORT: succeeds when nothing listens on 127.0.0.1:PORT.
port_free() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(1)' "$1"
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 1; fi
  fi
}

# free_ports N: N distinct free ports, separated by spaces.
free_ports() {
  local n="$1" p
  local -a ports=()
  while ((${#ports[@]} < n)); do
    p=$((20000 + RANDOM % 12000))
    [[ " ${ports[*]} " == *" ${p} "* ]] && continue
    port_free "${p}" && ports+=("${p}")
  done
  echo "${ports[@]}"
}

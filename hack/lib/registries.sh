# Two OCI registries and a file server on 127.0.0.1, for steps on the real
# node to copy between. Sourced by hack/cluster.sh (uses its helpers).
#
# - registry-src: Debian's docker-registry (the CNCF distribution registry);
#   every request needs the user "puller" (basic auth, htpasswd).
# - registry-dst: the same with the user "pusher"; each side's Secret is
#   really used, and a wrong one really fails.
# - fileserver: busybox httpd serving .local/cluster/files over plain HTTP.
#
# Passwords are made at start. .local/cluster/registries.env (mode 600)
# records addresses, users and passwords; .local/cluster/seed.json the test
# content made at start (bin/imagetool seed): a multi-platform image index
# with an SBOM attached to it, a Helm chart stored as an OCI artifact, and a
# file.

REGISTRY_DIR="${STATE_DIR}/registries"
REGISTRIES_ENV="${STATE_DIR}/registries.env"
SEED_FILE="${STATE_DIR}/seed.json"
FILES_DIR="${STATE_DIR}/files"

# write_registry_config NAME PORT USER PASSWORD
write_registry_config() {
  local name="$1" port="$2" user="$3" password="$4" dir="${REGISTRY_DIR}/$1"
  mkdir -p "${dir}/data"
  htpasswd -Bbn "${user}" "${password}" >"${dir}/htpasswd" 2>/dev/null
  chmod 600 "${dir}/htpasswd"
  cat >"${dir}/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${dir}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: $(openssl rand -hex 16)
auth:
  htpasswd:
    realm: ${name}
    path: ${dir}/htpasswd
EOF
}

# registry_answers PORT: the registry is up (401 to an anonymous /v2/).
registry_answers() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/")" == 401 ]]
}

fileserver_answers() { curl -fsS -o /dev/null "http://127.0.0.1:$1/"; }

start_registries() {
  local -a ports
  local src_pw dst_pw
  read -r -a ports <<<"$(free_ports 3)"
  src_pw="$(openssl rand -hex 12)"
  dst_pw="$(openssl rand -hex 12)"
  write_registry_config registry-src "${ports[0]}" puller "${src_pw}"
  write_registry_config registry-dst "${ports[1]}" pusher "${dst_pw}"
  mkdir -p "${FILES_DIR}"
  echo "arc local file server" >"${FILES_DIR}/index.html"
  : >"${REGISTRIES_ENV}"
  chmod 600 "${REGISTRIES_ENV}"
  cat >"${REGISTRIES_ENV}" <<EOF
SRC_REGISTRY=127.0.0.1:${ports[0]}
SRC_USER=puller
SRC_PASSWORD=${src_pw}
DST_REGISTRY=127.0.0.1:${ports[1]}
DST_USER=pusher
DST_PASSWORD=${dst_pw}
FILE_SERVER=http://127.0.0.1:${ports[2]}
EOF
  EXE=/usr/bin/docker-registry start_bg registry-src serve "${REGISTRY_DIR}/registry-src/config.yml"
  EXE=/usr/bin/docker-registry start_bg registry-dst serve "${REGISTRY_DIR}/registry-dst/config.yml"
  EXE=/usr/bin/busybox start_bg fileserver httpd -f -p "127.0.0.1:${ports[2]}" -h "${FILES_DIR}"
  COMPONENT=registry-src wait_for "registry-src on 127.0.0.1:${ports[0]}" registry_answers "${ports[0]}"
  COMPONENT=registry-dst wait_for "registry-dst on 127.0.0.1:${ports[1]}" registry_answers "${ports[1]}"
  COMPONENT=fileserver wait_for "file server on 127.0.0.1:${ports[2]}" fileserver_answers "${ports[2]}"
  seed_registries
}

# seed_registries: the test content, pushed to registry-src (and the file put
# where the file server serves it).
seed_registries() {
  # shellcheck source=/dev/null
  source "${REGISTRIES_ENV}"
  log "seeding registry-src with test content (.local/cluster/seed.json)"
  "${BIN_DIR}/imagetool" seed --plain-http \
    --registry "${SRC_REGISTRY}" --username "${SRC_USER}" --password "${SRC_PASSWORD}" \
    --file-out "${FILES_DIR}/payload.bin" --out "${SEED_FILE}" >>"${LOG_DIR}/images.log" 2>&1 ||
    die "seeding registry-src failed; see .local/logs/images.log"
}

registries_running() { alive registry-src && alive registry-dst && alive fileserver; }

stop_registries() {
  stop fileserver
  stop registry-dst
  stop registry-src
}

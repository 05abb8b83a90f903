//go:build e2e

package e2e

import "syscall"

// childProcAttr makes the kernel kill the controller when the test binary
// dies (a go test timeout, a Ctrl-C), so no controller outlives the suite.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

//go:build tools

// Package tools pins the etcd tool build for hack/build-tool.sh; it is never compiled into ARC.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)

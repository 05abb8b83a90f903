//go:build tools

// Package tools pins the controller-gen tool build for hack/build-tool.sh; it is never compiled into ARC.
package tools

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)

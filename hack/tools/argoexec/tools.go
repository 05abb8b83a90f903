//go:build tools

// Package tools pins the argoexec build for hack/build-tool.sh; it is never compiled into ARC.
// The module zip lacks a Linux file of cmd/argoexec's dependencies: see signal_linux.go.txt.
package tools

import (
	_ "github.com/argoproj/argo-workflows/v3/cmd/argoexec"
)

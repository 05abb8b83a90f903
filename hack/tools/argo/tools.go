//go:build tools

// Package tools pins the argo tool build for hack/build-tool.sh; it is never compiled into ARC.
package tools

import (
	_ "github.com/argoproj/argo-workflows/v3/cmd/workflow-controller"
)

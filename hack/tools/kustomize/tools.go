//go:build tools

// Package tools pins the kustomize tool build for hack/build-tool.sh; it is never compiled into ARC.
package tools

import (
	_ "sigs.k8s.io/kustomize/kustomize/v5"
)

//go:build tools

// Package tools pins the kwok tool build for hack/build-tool.sh; it is never compiled into ARC.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)

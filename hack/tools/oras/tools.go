//go:build tools

// Package tools pins the oras CLI build for hack/build-tool.sh; it is never compiled into ARC.
package tools

import (
	_ "oras.land/oras/cmd/oras"
)

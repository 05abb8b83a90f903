//go:build tools

// Package tools pins k8s.io/code-generator, whose kube_codegen.sh
// hack/update-codegen.sh runs, outside the product's go.mod.
package tools

import (
	_ "k8s.io/code-generator"
)

//go:build tools

// Package tools pins helm, which lints the chart under manifests/charts and
// renders it for the drift check against kustomize (hack/build-tool.sh helm).
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)

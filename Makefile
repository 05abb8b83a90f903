# ARC: the Artifact Conduit controller.
#
# Newcomers need two targets: `make run-local` and `make test` (see README.md).

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

BIN_DIR     := $(CURDIR)/bin
LOCAL_DIR   := $(CURDIR)/.local
GO          ?= go
GOFLAGS     ?= -buildvcs=false
export GOFLAGS

# Short fuzzing in `make test`; longer runs: make fuzz FUZZTIME=10m
FUZZTIME    ?= 15s

KUBECTL     := $(BIN_DIR)/kubectl
# The cluster `make install` targets; run-local and e2e always use the local one.
KUBECONFIG  ?= $(LOCAL_DIR)/kubeconfig
LOCAL_KUBECONFIG := $(LOCAL_DIR)/kubeconfig
ARC_CRDS    := endpoints artifacttypes clusterartifacttypes orders artifactworkflows

.PHONY: all
all: build

##@ Build

.PHONY: build
# The controller is built as the image builds it (Dockerfile): static, without
# symbol tables, so that make run-local, the e2e suite and make bench run and
# measure the binary that ships. With cgo it maps the C library too.
build: ## Build bin/arc-controller and the kubectl plugin bin/kubectl-arc.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN_DIR)/arc-controller ./cmd/arc-controller
	$(GO) build -o $(BIN_DIR)/kubectl-arc ./cmd/kubectl-arc

.PHONY: tools
tools: ## Build the pinned tools (etcd, kube-apiserver, kubectl, Argo, argoexec, oras, kwok, controller-gen, kustomize, imagetool, helm) into bin/.
	hack/build-tool.sh all

.PHONY: images
images: ## Pack the real node's images (argoexec, pause, tools) into .local/images/ (hack/images.sh).
	hack/images.sh build

IMAGE ?= ghcr.io/artifact-conduit/arc-controller:dev

.PHONY: docker-build
docker-build: ## Build the controller image IMAGE with Docker (multi-stage, distroless, non-root).
	docker build -t $(IMAGE) .

##@ Local cluster

.PHONY: run-local
run-local: build ## Start a local control plane with Argo, run the controller and the example Order, show the result.
	hack/run-local.sh

.PHONY: cluster-up
cluster-up: ## Start (or reuse) the local control plane: etcd, kube-apiserver, scheduler, controller-manager, kwok, Argo.
	hack/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop the controller run-local started and every process of the local cluster.
	@if [[ -f $(LOCAL_DIR)/arc-controller.pid ]]; then hack/run-local.sh stop; fi
	hack/cluster.sh down

.PHONY: install
install: ## Apply ARC's CRDs to the cluster KUBECONFIG names and wait until they are served.
	@hack/build-tool.sh kubectl >/dev/null
	$(KUBECTL) --kubeconfig $(KUBECONFIG) apply --server-side -k manifests/crd
	@# kubectl wait fails at once while a new CRD has no conditions yet: retry for a minute.
	@for i in $$(seq 60); do \
	  $(KUBECTL) --kubeconfig $(KUBECONFIG) wait --for condition=Established --timeout 10s \
	    $(foreach r,$(ARC_CRDS),crd/$(r).arc.opendefense.cloud) && exit 0; sleep 1; \
	done; echo "ARC's CRDs are not Established" >&2; exit 1

.PHONY: uninstall
uninstall: ## Delete ARC's CRDs (and with them every ARC object) from the cluster KUBECONFIG names.
	$(KUBECTL) --kubeconfig $(KUBECONFIG) delete --ignore-not-found -k manifests/crd

##@ Code generation

.PHONY: generate
generate: ## Regenerate clientset, listers, informers, deepcopy, CRDs and RBAC.
	hack/update-codegen.sh
	hack/update-crds.sh
	hack/update-rbac.sh

.PHONY: manifests
manifests: ## Regenerate the CRDs and the RBAC role of manifests/ from pkg/apis and the rbac markers.
	hack/update-crds.sh
	hack/update-rbac.sh

.PHONY: verify
verify: ## Fail when generated code or manifests are stale, code is not gofmt-ed, go vet complains, the chart fails helm lint or drifts from kustomize, or an alert names a metric ARC lacks.
	hack/verify-codegen.sh
	hack/verify-rbac.sh
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^hack/tools/') ); \
	  if [[ -n "$$out" ]]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if [[ -d test ]]; then $(GO) vet -tags e2e ./test/...; fi
	cd hack/bench && $(GO) vet ./...
	cd hack/imagetool && $(GO) vet ./...
	hack/verify-chart.sh
	@# The alerts and the dashboard name only metrics ARC serves (own module: Prometheus' parser).
	cd hack/monitoring && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test -count=1 ./...

##@ Tests

.PHONY: test
test: unit e2e ## Run unit tests, a short fuzz run, the end-to-end suite, then the short fault run.
	@# After e2e, not beside it: both use the local cluster, which the fault
	@# run restarts with a degraded API server.
	$(MAKE) chaos-short

.PHONY: unit
unit: ## Unit tests (fake clientsets, golden files, short fuzzing).
	$(GO) test -race -count=1 ./...
	@# One iteration of every benchmark: they check what they measure
	@# (writes and events per sync), and would otherwise break unnoticed.
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./pkg/...
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzFlatten$$' -fuzztime $(FUZZTIME) ./pkg/parameters
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzMatchesTheAPIServer$$' -fuzztime $(FUZZTIME) ./pkg/specschema
	$(MAKE) bench-test
	$(MAKE) imagetool-test

.PHONY: e2e
e2e: build cluster-up ## End-to-end suite against the local cluster (built and started if needed).
	$(MAKE) install KUBECONFIG=$(LOCAL_KUBECONFIG)
	@hack/build-tool.sh helm >/dev/null # TestHelmInstall installs the chart with bin/helm
	KUBECONFIG=$(LOCAL_KUBECONFIG) hack/e2e.sh

.PHONY: fuzz
fuzz: ## Fuzz the parameter flattening, and spec schemas against the API server's own checks, for FUZZTIME each.
	$(GO) test -run '^$$' -fuzz '^FuzzFlatten$$' -fuzztime $(FUZZTIME) ./pkg/parameters
	$(GO) test -run '^$$' -fuzz '^FuzzMatchesTheAPIServer$$' -fuzztime $(FUZZTIME) ./pkg/specschema

.PHONY: imagetool-test
imagetool-test: ## Unit tests of hack/imagetool (its own module; an in-memory registry).
	cd hack/imagetool && $(GO) test -count=1 ./...

.PHONY: bench-micro
bench-micro: ## Go benchmarks of the pure packages and the controllers' sync functions, and the heap ARC's caches hold per artifact.
	$(GO) test -count=1 -run '^$$' -bench . -benchmem ./pkg/... ./cmd/arc-controller/

##@ Scale benchmark

# make bench [SCALE=default|large] [ARGS='--argo ...']: see hack/bench/README.md.
SCALE ?= default
ARGS  ?=

.PHONY: bench
bench: build bench-build ## Scale benchmark against the local cluster (audit log on): times, API writes, memory, ARC vs a client-go baseline.
	$(BIN_DIR)/arc-bench --root $(CURDIR) --scale $(SCALE) $(ARGS)

.PHONY: bench-build
bench-build: ## Build the harness of make bench and make chaos (bin/arc-bench, its own module under hack/bench).
	cd hack/bench && $(GO) build -o $(BIN_DIR)/arc-bench .

##@ Fault harness

# make chaos [ARGS='--seed N ...']: see hack/bench/README.md.

.PHONY: chaos
chaos: build bench-build ## Fault run: 100 Orders x 10 artifacts under ARC kills, leader kills, API server and etcd restarts, 429s and compaction; checks convergence.
	$(BIN_DIR)/arc-bench chaos --root $(CURDIR) $(ARGS)

.PHONY: chaos-short
chaos-short: build bench-build ## The short fault run of make test: 10 Orders x 10 artifacts, a few kills, one API server restart.
	$(BIN_DIR)/arc-bench chaos --short --root $(CURDIR) $(ARGS)

.PHONY: bench-test
bench-test: ## Unit tests of the benchmark harness (its own module under hack/bench).
	cd hack/bench && $(GO) test -count=1 ./...

##@ Housekeeping

.PHONY: clean
clean: ## Remove built binaries (tools included) and local state.
	rm -rf $(BIN_DIR) $(LOCAL_DIR)

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  %-16s %s\n", $$1, $$2} /^##@/ {printf "\n%s\n", substr($$0, 5)}' $(MAKEFILE_LIST)

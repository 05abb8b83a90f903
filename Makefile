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

.PHONY: all
all: build

##@ Build

.PHONY: build
build: ## Build bin/arc-controller.
	$(GO) build -o $(BIN_DIR)/arc-controller ./cmd/arc-controller

##@ Code generation

.PHONY: generate
generate: ## Regenerate clientset, listers, informers, deepcopy and CRDs from pkg/apis.
	hack/update-codegen.sh
	hack/update-crds.sh

.PHONY: verify
verify: ## Fail when generated code is stale, code is not gofmt-ed or go vet complains.
	hack/verify-codegen.sh
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^hack/tools/') ); \
	  if [[ -n "$$out" ]]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if [[ -d test ]]; then $(GO) vet -tags e2e ./test/...; fi

##@ Tests

.PHONY: test
test: unit ## Run unit tests, a short fuzz run, then the end-to-end suite.

.PHONY: unit
unit: ## Unit tests (fake clientsets, golden files, short fuzzing).
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzFlatten$$' -fuzztime $(FUZZTIME) ./pkg/parameters

.PHONY: fuzz
fuzz: ## Fuzz the parameter flattening for FUZZTIME.
	$(GO) test -run '^$$' -fuzz '^FuzzFlatten$$' -fuzztime $(FUZZTIME) ./pkg/parameters

.PHONY: bench-micro
bench-micro: ## Go benchmarks of the pure packages and the controllers' sync functions.
	$(GO) test -count=1 -run '^$$' -bench . -benchmem ./pkg/...

##@ Housekeeping

.PHONY: clean
clean: ## Remove built binaries (tools included) and local state.
	rm -rf $(BIN_DIR) $(LOCAL_DIR)

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  %-16s %s\n", $$1, $$2} /^##@/ {printf "\n%s\n", substr($$0, 5)}' $(MAKEFILE_LIST)

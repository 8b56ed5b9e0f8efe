# fnfleet: run Fn on a fleet of Kubernetes clusters.
# `make run` shows the product on this machine; `make test` is what CI runs.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
BIN     := $(CURDIR)/bin
# -count=1: the tests drive real clusters and processes; a cached pass would
# say nothing about this machine.
GOTEST  ?= $(GO) test -race -count=1 -timeout 40m
# The test bed and `fnfleet up` find the cluster binaries here.
export FNFLEET_BIN := $(BIN)

# Pinned versions of what the local clusters are made of. Changing a pin
# (tools/*/go.mod) rebuilds the binaries; nothing else does.
K8S_VERSION  := v1.37.2
KWOK_VERSION := v0.8.0
K8S_MINOR    := 37
K8S_BUILT    := 2026-11-12T00:00:00Z
# external-dns is not built: its DNSEndpoint CRD is the externaldns DNS
# provider's test fixture, copied out of its Go module (tools/externaldns
# says why not through a go.mod).
EXTERNALDNS_VERSION := v0.23.0
EXTERNALDNS_CRD     := $(BIN)/crds/externaldns.k8s.io_dnsendpoints.yaml
# etcd's version is read from its pin in tools/etcd/go.mod, CoreDNS's from
# tools/coredns/go.mod.
ETCD_VERSION := $(shell awk '$$1 == "go.etcd.io/etcd/server/v3" { print $$2 }' tools/etcd/go.mod)
COREDNS_VERSION := $(shell awk 'NF >= 2 && $$(NF-1) == "github.com/coredns/coredns" { print $$NF }' tools/coredns/go.mod)
K8S_BINS  := $(addprefix $(BIN)/,kube-apiserver kube-controller-manager kube-scheduler kubectl)
KWOK_BINS := $(addprefix $(BIN)/,kwok kwokctl)

# Without these the servers report v0.0.0-master, which Helm and kubectl
# cannot parse.
K8S_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=$(K8S_MINOR) \
	-X k8s.io/component-base/version.gitTreeState=clean \
	-X k8s.io/component-base/version.buildDate=$(K8S_BUILT) \
	-X k8s.io/client-go/pkg/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/client-go/pkg/version.gitMajor=1 \
	-X k8s.io/client-go/pkg/version.gitMinor=$(K8S_MINOR)
# etcd's version number is in its source; its Git SHA is left to the build,
# and a module download has none, so the tag stands in for it.
ETCD_LDFLAGS := -s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$(ETCD_VERSION)

# progress turns `go build -v` package lines into a line every 100 packages.
progress = awk '{ n++ } n % 100 == 0 { printf "    ... %d packages compiled\n", n; fflush() } END { if (n == 0) print "    ... all packages cached, linking only"; else printf "    ... %d packages compiled\n", n }'

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-10s %s\n", $$1, $$2 }'

.PHONY: tools
tools: $(K8S_BINS) $(KWOK_BINS) $(BIN)/etcd $(BIN)/coredns $(EXTERNALDNS_CRD) bind9 ## build the Kubernetes, kwok, etcd and CoreDNS binaries, fetch external-dns' CRD (first time: ~15 min); install BIND9 through apt-get if missing

$(K8S_BINS) &: tools/kubernetes/go.mod tools/kubernetes/go.sum
	@echo "==> building Kubernetes $(K8S_VERSION) (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) into bin/"
	@echo "    the first build takes 10-15 minutes on 2 cores; later ones take seconds"
	@mkdir -p $(BIN)
	cd tools/kubernetes && $(GO) build -v -trimpath -ldflags '$(K8S_LDFLAGS)' -o $(BIN)/ \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl 2>&1 | $(progress)
	@touch $(K8S_BINS)
	@$(BIN)/kube-apiserver --version

$(KWOK_BINS) &: tools/kwok/go.mod tools/kwok/go.sum
	@echo "==> building kwok $(KWOK_VERSION) (kwok, kwokctl) into bin/"
	@mkdir -p $(BIN)
	cd tools/kwok && $(GO) build -v -trimpath -o $(BIN)/ sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl 2>&1 | $(progress)
	@touch $(KWOK_BINS)

# etcd's main package is the root of its server module.
$(BIN)/etcd: tools/etcd/go.mod tools/etcd/go.sum
	@echo "==> building etcd $(ETCD_VERSION) into bin/"
	@mkdir -p $(BIN)
	cd tools/etcd && $(GO) build -v -trimpath -ldflags '$(ETCD_LDFLAGS)' -o $(BIN)/etcd go.etcd.io/etcd/server/v3 2>&1 | $(progress)
	@touch $(BIN)/etcd
	@$(BIN)/etcd --version

# CoreDNS is our own main (tools/coredns/main.go) with only the plugins the
# fleet's DNS uses. Its version number is in coremain's source; as for etcd,
# the tag stands in for the commit a module download does not have.
COREDNS_LDFLAGS := -s -w -X github.com/coredns/coredns/coremain.GitCommit=$(COREDNS_VERSION)
$(BIN)/coredns: tools/coredns/go.mod tools/coredns/go.sum tools/coredns/main.go
	@echo "==> building CoreDNS $(COREDNS_VERSION) (bind, errors, log, etcd plugins) into bin/"
	@mkdir -p $(BIN)
	cd tools/coredns && $(GO) build -v -trimpath -ldflags '$(COREDNS_LDFLAGS)' -o $(BIN)/coredns . 2>&1 | $(progress)
	@touch $(BIN)/coredns
	@$(BIN)/coredns -version

# BIND9 is Debian's own package, not built here: the rfc2136 provider's
# tests run it (test/dnstest). apt-get needs root: sudo when not root.
.PHONY: bind9
bind9: ## install Debian's BIND9 (named, dig, nsupdate) through apt-get when named is missing
	@if command -v named >/dev/null || [ -x /usr/sbin/named ]; then exit 0; fi; \
	sudo=; \
	if [ "$$(id -u)" != 0 ]; then \
		if ! command -v sudo >/dev/null; then echo "BIND9 is missing and installing it needs root: run 'apt-get install bind9 bind9-utils dnsutils' as root"; exit 1; fi; \
		sudo=sudo; \
	fi; \
	echo "==> installing BIND9 (bind9 bind9-utils dnsutils) through apt-get"; \
	$$sudo apt-get update -qq; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bind9 bind9-utils dnsutils >/dev/null; \
	/usr/sbin/named -v

# The pin is a variable here, so the Makefile is the prerequisite: any edit
# re-copies the file, which takes a second once the module is cached.
$(EXTERNALDNS_CRD): Makefile tools/externaldns/main.go
	@echo "==> copying external-dns $(EXTERNALDNS_VERSION)'s DNSEndpoint CRD into bin/crds/"
	cd tools/externaldns && $(GO) run . -version $(EXTERNALDNS_VERSION) \
		-file config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml -out $@

.PHONY: build
# One go build: the packages are compiled once for every binary.
build: ## build the fnfleet CLI and every function (echo, events, placement, deploy, lifecycle, parking, reconcile, dns, probe) into bin/
	$(GO) build -o $(BIN)/ ./cmd/fnfleet ./functions/...

.PHONY: run
run: tools build ## bring up a local fleet (hub, its Fn running the fleet's functions, scheduler, event source, CoreDNS): a cluster created, parked and woken for an app, its DNS name failing over; until Ctrl-C
	$(BIN)/fnfleet up --demo

.PHONY: test
# build: the local provider runs bin/fnfleet as each cluster's data plane.
test: lint tools build ## lint, then every test (real clusters included) with the race detector
	$(GOTEST) ./...

.PHONY: bench
bench: tools ## run every benchmark (figures in docs/benchmarks.md)
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

.PHONY: lint
lint: $(BIN)/golangci-lint ## gofmt, go vet, golangci-lint, and generated code in sync with federation/api
	@unformatted=$$(find . -name '*.go' -not -path './.*' -print0 | xargs -0 -r gofmt -l); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/golangci-lint run ./...
	@$(MAKE) --no-print-directory check-generated

# golangci-lint is pinned like the other tools (tools/golangci-lint/go.mod).
$(BIN)/golangci-lint: tools/golangci-lint/go.mod tools/golangci-lint/go.sum
	@echo "==> building golangci-lint into bin/ (about a minute the first time)"
	@mkdir -p $(BIN)
	cd tools/golangci-lint && $(GO) build -trimpath -o $(BIN)/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint
	@touch $(BIN)/golangci-lint

CONTROLLER_GEN := $(GO) tool -modfile=$(CURDIR)/tools/controller-gen/go.mod controller-gen
CRD_DIR        := charts/fnfleet/crds

.PHONY: generate
generate: ## regenerate deepcopy code and CRDs from federation/api (commit the result)
	$(CONTROLLER_GEN) object paths=./federation/api/... crd output:crd:dir=./$(CRD_DIR)

# check-generated regenerates into a scratch copy of the API, so the check
# never rewrites the tree, and fails naming the files that drifted.
.PHONY: check-generated
check-generated:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p "$$tmp/federation" "$$tmp/crds"; \
	cp go.mod go.sum "$$tmp/"; cp -r federation/api "$$tmp/federation/"; \
	(cd "$$tmp" && $(CONTROLLER_GEN) object paths=./federation/api/... crd output:crd:dir=./crds); \
	if ! diff -r -q "$$tmp/crds" $(CRD_DIR) || ! diff -r -q "$$tmp/federation/api" federation/api; then \
		echo "generated files are out of date with federation/api: run 'make generate' and commit the result"; exit 1; fi

# The Cluster API module ships its Go types but no CRD YAML; the capi
# provider's tests install the Cluster CRD generated from those types, at the
# version go.mod pins. Only the Cluster CRD is kept: it is all the provider
# touches (the other kinds belong to CAPI's own controllers).
CAPI_CRD_DIR := federation/providers/capi/testdata/crds

.PHONY: capi-crds
capi-crds: ## regenerate the Cluster API CRD the capi provider's tests use (commit the result)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(CONTROLLER_GEN) crd paths=sigs.k8s.io/cluster-api/api/core/v1beta2 output:crd:dir="$$tmp"; \
	mkdir -p $(CAPI_CRD_DIR); cp "$$tmp/cluster.x-k8s.io_clusters.yaml" $(CAPI_CRD_DIR)/

.PHONY: clean
clean: ## remove built binaries and local fleet state
	rm -rf $(BIN) .fnfleet

# kubectl-workqueue. `make help` lists the targets.
SHELL := /usr/bin/env bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
# Once, now: a recursive variable would ask git again at every use, and a file edited
# during a build would give the binary and its worker image different tags (-dirty).
VERSION := $(VERSION)
# The linker flags that stamp VERSION in: spelled out here only. The scripts
# and .goreleaser.yaml read them with `make -s ldflags VERSION=...`.
LDFLAGS := -s -w -X github.com/kubectl-workqueue/kubectl-workqueue/internal/version.Version=$(VERSION)
GO_BUILD := CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)'

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

.PHONY: build
build: ## build bin/kubectl-workqueue and bin/workqueue-worker
	$(GO_BUILD) -o bin/kubectl-workqueue ./cmd/kubectl-workqueue
	$(GO_BUILD) -o bin/workqueue-worker ./cmd/workqueue-worker

.PHONY: version
version: ## print VERSION, which make build stamps in (git describe)
	@echo '$(VERSION)'

.PHONY: ldflags
ldflags: ## print the linker flags that stamp VERSION into a build
	@echo '$(LDFLAGS)'

.PHONY: deps
deps: ## install what the tests need (redis-server, redis-cli, python3-redis, shellcheck; actionlint into bin/tools)
	hack/install-deps.sh

.PHONY: test
test: deps ## unit tests against a real redis-server, with -race (no cluster needed), then lint-ci
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	go test -race -count=1 ./...
	@$(MAKE) --no-print-directory lint-ci

.PHONY: lint-ci
lint-ci: ## actionlint (with shellcheck) on .github/workflows; goreleaser check if it is built (make goreleaser)
	$$(hack/tools.sh actionlint) -no-color
	@if gr=$$(hack/tools.sh --built goreleaser); then echo "$$gr check"; "$$gr" check; \
	else echo 'goreleaser check: skipped, goreleaser is not built (make goreleaser, minutes the first time; make check does it)'; fi

.PHONY: goreleaser
goreleaser: ## build goreleaser at the version of .tool-versions into bin/tools (once: ~6 min with cold Go caches)
	hack/tools.sh goreleaser >/dev/null

.PHONY: bench
bench: deps build ## benchmarks without a cluster: our code against its baselines in the same run, ratios printed
	go test -run '^$$' -bench . -benchtime 1x ./...
	bench/seed-loopback.sh

# The local single-node cluster (hack/localcluster), images, demo and e2e.

.PHONY: cluster
cluster: ## start the local Kubernetes (build it the first time, recover it after a kill): hack/localcluster/ensure.sh
	hack/localcluster/ensure.sh >/dev/null

.PHONY: images
images: build cluster ## import the worker image (the tag run uses by default) and the docs' example image into the local cluster
	VERSION=$(VERSION) hack/images.sh all

.PHONY: worker-image
worker-image: build cluster ## import only the worker image into the local cluster
	VERSION=$(VERSION) hack/images.sh worker

.PHONY: demo
demo: ## the docs' work-queue pattern end to end, on the local cluster (or the one in KUBECONFIG)
	VERSION=$(VERSION) hack/demo.sh

.PHONY: demo-down
demo-down: ## stop the local cluster (or delete the demo's namespace from your own)
	hack/demo.sh --down

.PHONY: e2e
e2e: ## the e2e suite on the local cluster: starts it, builds, imports images, go test -tags e2e
	hack/e2e.sh

.PHONY: bench-cluster
bench-cluster: build cluster ## on the cluster: seeding 1M items and a 50-pod Job's logs, ours vs kubectl's ways, ratios printed
	bench/seed.sh
	bench/logs.sh

.PHONY: check
check: ## everything CI runs: goreleaser, unit tests and lint-ci, then the local cluster, images and e2e, then the cluster stopped
	@rc=0; \
	$(MAKE) --no-print-directory goreleaser || rc=1; \
	$(MAKE) --no-print-directory test || rc=1; \
	$(MAKE) --no-print-directory e2e || rc=1; \
	hack/localcluster/down.sh || rc=1; \
	[ $$rc -eq 0 ] || echo 'make check: FAILED (see above)' >&2; \
	exit $$rc

# Distribution: release archives and krew manifests (hack/dist, .krew.yaml,
# .goreleaser.yaml, .github/workflows/release.yaml; see hack/dist/RELEASING.md).
# The worker image's one recipe is build/worker/Dockerfile: a release's image
# is built from it by goreleaser (dockers_v2), the local one by worker-image.

DIST_DIR ?= dist
DIST_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

.PHONY: dist
dist: ## archives for DIST_PLATFORMS, sha256sums.txt and the krew manifest dist/workqueue.yaml (reproducible)
	VERSION=$(VERSION) DIST_DIR=$(DIST_DIR) DIST_PLATFORMS='$(DIST_PLATFORMS)' hack/dist/dist.sh

.PHONY: krew-manifest
krew-manifest: dist ## plugins/workqueue.yaml for release VERSION=vX.Y.Z: make dist, then pin its archives' sha256
	go run ./hack/dist/disttool.go manifest -all -template .krew.yaml -version $(VERSION) \
		-checksums $(DIST_DIR)/sha256sums.txt -o plugins/workqueue.yaml

.PHONY: test-krew
test-krew: ## only the krew tests: manifests, the host's archive installed as krew does, run through kubectl
	go test -count=1 ./test/krew

.PHONY: release-snapshot
release-snapshot: goreleaser ## what a release publishes, without publishing it: goreleaser release --snapshot, into dist/ (the image needs docker buildx)
	$$(hack/tools.sh goreleaser) release --snapshot --clean

# kubectl-workqueue. `make help` lists the targets.
SHELL := /usr/bin/env bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
LDFLAGS := -s -w -X github.com/kubectl-workqueue/kubectl-workqueue/pkg/version.Version=$(VERSION)
GO_BUILD := CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)'

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

.PHONY: build
build: ## build bin/kubectl-workqueue and bin/workqueue-worker
	$(GO_BUILD) -o bin/kubectl-workqueue ./cmd/kubectl-workqueue
	$(GO_BUILD) -o bin/workqueue-worker ./cmd/workqueue-worker

.PHONY: deps
deps: ## install what the unit tests need (redis-server, redis-cli, python3-redis)
	hack/install-deps.sh

.PHONY: test
test: deps ## unit tests against a real redis-server, with -race (no cluster needed)
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	go test -race -count=1 ./...

.PHONY: bench
bench: deps ## benchmarks: our code against its baselines in the same run, ratios printed
	go test -run '^$$' -bench . -benchtime 1x ./...

// Package krew tests the plugin's distribution through krew without krew,
// whose Go module is not served by the module proxy this project builds
// with. Its tests check the manifests (plugins/workqueue.yaml, the
// krew-release-bot template .krew.yaml, and the one `make dist` writes)
// against the rules krew and krew-index enforce, build a release archive
// with hack/dist/dist.sh, install it step by step as `kubectl krew install`
// does, and run the plugin through kubectl's plugin mechanism.
//
// release_test.go checks the rest of a release without the forge: that
// the workflows, .goreleaser.yaml, .krew.yaml, the Makefile and the plugin
// name the same archives and worker image, that the worker image built from
// build/worker/Dockerfile is what `run -- COMMAND` expects, and that the
// workflows pin their actions and write only where a release must.
//
// The rules mirror sigs.k8s.io/krew: internal/index/validation (ValidatePlugin),
// cmd/validate-krew-manifest (platforms, overlaps, line lengths) and
// internal/installation (install, move, link).
package krew

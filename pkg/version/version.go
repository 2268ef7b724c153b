// Package version holds the build's version, stamped in by the linker:
//
//	go build -ldflags "-X github.com/kubectl-workqueue/kubectl-workqueue/pkg/version.Version=v0.1.0"
package version

// Version is the release tag this binary was built from; "dev" for local builds.
var Version = "dev"

// Commit is the git commit this binary was built from, when known.
var Commit = ""

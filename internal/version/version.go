// Package version holds the build's version, stamped in by the linker:
//
//	go build -ldflags "-X github.com/kubectl-workqueue/kubectl-workqueue/internal/version.Version=v0.1.0"
//
// A `go install …@v0.1.0` build has no stamp but knows its module version,
// which is used instead.
package version

import "runtime/debug"

// Version is the release tag this binary was built from; "dev" for local builds.
var Version = "dev"

// WorkerImageRepo is where the worker image is published.
const WorkerImageRepo = "ghcr.io/kubectl-workqueue/workqueue-worker"

func init() {
	if Version != "dev" {
		return
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		Version = bi.Main.Version
	}
}

// WorkerImage is the worker image that matches this build: the same
// release, or the locally built image of the same version.
func WorkerImage() string { return WorkerImageRepo + ":" + Version }

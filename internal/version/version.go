// Package version holds the build's version, stamped in by the linker with
// the flags `make -s ldflags VERSION=v0.1.0` prints (the one place they are
// spelled out; make, hack/dist/dist.sh, build/worker/build-image.sh and
// .goreleaser.yaml all take them from there).
//
// A `go install …@v0.1.0` build has no stamp but knows its module version,
// which is used instead.
package version

import (
	"regexp"
	"runtime/debug"
	"strings"
)

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

// pseudoVersion matches the time-commit part of the versions Go makes up for
// commits that are not a release: v0.0.0-20261130053200-cc850a8e1f2b,
// v0.2.1-0.20261130053200-cc850a8e1f2b.
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}`)

// WorkerImage is the worker image that matches this build: the image a
// release publishes under its tag, or the one `make images` imports for the
// version a local build is stamped with. It is "" when no such image can
// exist: an unstamped "dev" build, or a version Go made up (`go install
// …@main`, `go install …@latest` before the first release, `go build` in a
// checkout: pseudo-versions, "+dirty").
func WorkerImage() string { return workerImage(Version) }

func workerImage(v string) string {
	if v == "" || v == "dev" || strings.Contains(v, "+") || pseudoVersion.MatchString(v) {
		return ""
	}
	return WorkerImageRepo + ":" + v
}

#!/usr/bin/env bash
# Build the release archives of kubectl-workqueue, as `make dist` does:
#
#   DIST_DIR/kubectl-workqueue_<os>_<arch>.tar.gz   (.zip on windows)
#   DIST_DIR/sha256sums.txt
#   DIST_DIR/workqueue.yaml   krew manifest of these archives, with their sha256
#
# then, for anyone with krew:
#   kubectl krew install --manifest=dist/workqueue.yaml \
#     --archive=dist/kubectl-workqueue_linux_amd64.tar.gz
#
# Environment:
#   VERSION         stamped into the binaries (default: git describe)
#   DIST_PLATFORMS  space-separated os/arch list (default: the six release platforms)
#   DIST_DIR        output directory (default: dist)
#   GO              go command (default: go)
#   SOURCE_DATE_EPOCH  mtime of the archive entries (default: 1980-01-01)
#
# The archives are reproducible: the same sources, VERSION and Go toolchain
# give byte-identical files (-trimpath, -buildvcs=false, no build time or
# commit stamped, archive entries with fixed order, times, owners and modes).
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}
DIST_DIR=${DIST_DIR:-dist}
DIST_PLATFORMS=${DIST_PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
LDFLAGS=$(make -s --no-print-directory ldflags VERSION="$VERSION")

mkdir -p "$DIST_DIR"
# Only what this script writes is removed, never the rest of DIST_DIR.
rm -rf "$DIST_DIR/.build" "$DIST_DIR"/kubectl-workqueue_*.tar.gz "$DIST_DIR"/kubectl-workqueue_*.zip \
  "$DIST_DIR/sha256sums.txt" "$DIST_DIR/workqueue.yaml"

trap 'rm -rf "$DIST_DIR/.build"' EXIT

gover=$($GO env GOVERSION) want=go$(awk '$1 == "go" {print $2; exit}' go.mod)
if [[ $gover != "$want" ]]; then
  echo "warning: building with $gover, not $want of go.mod: the archives' sha256 will differ from a release's" >&2
fi
echo "building kubectl-workqueue ${VERSION} with ${gover} for: ${DIST_PLATFORMS}"
for p in $DIST_PLATFORMS; do
  goos=${p%/*} goarch=${p#*/}
  exe=kubectl-workqueue
  [[ $goos == windows ]] && exe+=.exe
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch $GO build -trimpath -buildvcs=false \
    -ldflags "$LDFLAGS" -o "$DIST_DIR/.build/${goos}_${goarch}/$exe" ./cmd/kubectl-workqueue
done

$GO run ./hack/dist/disttool.go package -dir "$DIST_DIR" -version "$VERSION" \
  -platforms "$DIST_PLATFORMS" -template .krew.yaml
echo "wrote $DIST_DIR/sha256sums.txt and $DIST_DIR/workqueue.yaml"

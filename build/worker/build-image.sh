#!/bin/bash
# Build the workqueue-worker image without Docker: the static binary in an
# otherwise empty root filesystem (plus /etc/passwd and /etc/group naming the
# non-root user 65532), entrypoint ["/workqueue-worker"], user 65532:65532,
# written as a docker-archive tarball by hack/localcluster/images/mkimage.sh.
# The same image as build/worker/Dockerfile.
#
# usage: build/worker/build-image.sh OUT.tar TAG
#        build/worker/build-image.sh [--binary BIN] --tag TAG [--out OUT.tar] [--import]
#   --binary BIN  use this static binary (e.g. bin/workqueue-worker from make
#                 build) instead of building one; VERSION=v0.1.0 (environment)
#                 is stamped into a binary built here (default "dev")
#   --import      also import the image into the local cluster's containerd
#                 (hack/localcluster, namespace k8s.io); `docker load -i OUT.tar`
#                 works elsewhere
set -euo pipefail
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
bin='' tag='' out='' import=0 args=()
while (($#)); do
  case $1 in
    --binary) bin=${2:?}; shift 2 ;;
    --tag) tag=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --import) import=1; shift ;;
    -h|--help) usage ;;
    -*) echo "build-image.sh: unknown option $1" >&2; usage ;;
    *) args+=("$1"); shift ;;
  esac
done
case ${#args[@]} in
  0) ;;
  2) out=${args[0]} tag=${args[1]} ;;
  *) usage ;;
esac
[[ -n $tag ]] || usage
[[ -n $out || $import == 1 ]] || usage

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
if [[ -n $bin ]]; then
  [[ -f $bin ]] || { echo "build-image.sh: $bin does not exist" >&2; exit 1; }
  install -m 0755 "$bin" "$rootfs/workqueue-worker"
else
  (cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath \
    -ldflags "-s -w -X github.com/kubectl-workqueue/kubectl-workqueue/internal/version.Version=${VERSION:-dev}" \
    -o "$rootfs/workqueue-worker" ./cmd/workqueue-worker)
  chmod 0755 "$rootfs/workqueue-worker"
fi
if command -v file >/dev/null && ! file -L "$rootfs/workqueue-worker" | grep -q 'statically linked'; then
  echo "build-image.sh: the binary is not statically linked (build it with CGO_ENABLED=0)" >&2
  exit 1
fi
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"

if [[ -n $out ]]; then
  mkdir -p "$(dirname "$out")"
  out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
else
  out=$work/image.tar
fi
"$root/hack/localcluster/images/mkimage.sh" -r "$rootfs" -o "$out" -t "$tag" -e '["/workqueue-worker"]' -u 65532:65532

if ((import)); then
  . "$root/hack/localcluster/lib.sh"
  ctr version >/dev/null 2>&1 || die "the local cluster's containerd is not reachable at $CONTAINERD_SOCK: run hack/localcluster/ensure.sh first"
  ctr -n k8s.io images import "$out" >/dev/null
  ctr -n k8s.io images ls -q "name==$tag" | grep -x "$tag" >/dev/null || die "import of $tag failed"
  log "imported $tag into containerd (k8s.io)"
fi

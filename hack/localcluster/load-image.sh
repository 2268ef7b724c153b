#!/bin/bash
# Turn a directory (or a single static binary) into an image and import it into
# the local cluster's containerd (namespace k8s.io), where the kubelet finds it
# without any registry.
#
#   load-image.sh [options] SRC TAG [ENTRYPOINT_JSON]
#     SRC   a root filesystem directory, or a single file (e.g. a static Go
#           binary): the file becomes /<name> in an otherwise minimal rootfs
#           (/etc/passwd + /etc/group with root and nonroot=65532, /tmp 1777)
#           and the entrypoint defaults to ["/<name>"]
#     TAG   e.g. localhost/kubectl-workqueue/worker:dev  (not :latest - the
#           kubelet would try to pull it; or set imagePullPolicy Never)
#   options: -u USER     image user, numeric for runAsNonRoot (e.g. 65532 or 65532:65532)
#            -c CMD_JSON -w WORKDIR -E K=V (repeatable)  passed to images/mkimage.sh
#            -t TAG      additional tag (repeatable)
#            -o OUT.tar  keep the image tarball there (default: temporary)
#
# example (non-root static worker):
#   CGO_ENABLED=0 go build -o /tmp/wq/workqueue-worker ./cmd/workqueue-worker
#   hack/localcluster/load-image.sh -u 65532:65532 /tmp/wq/workqueue-worker \
#     localhost/kubectl-workqueue/worker:dev
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
mk=() out=''
while getopts u:c:w:E:t:o:h opt; do
  case $opt in
    u|c|w|E|t) mk+=("-$opt" "$OPTARG") ;;
    o) out=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
(($# == 2 || $# == 3)) || usage
src=$1 tag=$2 entry=${3:-}
[[ -e $src ]] || die "$src does not exist"
[[ $tag == *:latest || $tag != *:* ]] && log "warning: $tag has no tag or :latest - pods need imagePullPolicy: Never/IfNotPresent"
ctr version >/dev/null 2>&1 || die "containerd of the local cluster is not reachable at $CONTAINERD_SOCK - run ensure.sh first"

tmp=$(mktemp -d /tmp/lk8s-image.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [[ -d $src ]]; then
  rootfs=$src
else
  rootfs=$tmp/rootfs name=$(basename "$src")
  mkdir -p "$rootfs/etc" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
  install -m 0755 "$src" "$rootfs/$name"
  [[ -n $entry ]] || entry="[\"/$name\"]"
fi
[[ -n $entry ]] && mk+=(-e "$entry")
tarball=${out:-$tmp/image.tar}
"$HERE/images/mkimage.sh" -r "$rootfs" -o "$tarball" -t "$tag" "${mk[@]}" >&2
ctr -n k8s.io images import "$tarball" >/dev/null
ctr -n k8s.io images ls -q "name==$tag" | grep -x "$tag" >/dev/null || die "import of $tag failed"
log "imported $tag into containerd (k8s.io)"

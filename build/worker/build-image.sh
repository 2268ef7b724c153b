#!/usr/bin/env bash
# Build the workqueue-worker image from its one recipe, build/worker/Dockerfile
# (the file the release builds its multi-arch image from).
#
#   build/worker/build-image.sh --tag TAG [--platform PLATFORMS] OUTPUT
#
#   --tag TAG             e.g. ghcr.io/kubectl-workqueue/workqueue-worker:v0.2.0
#   --platform PLATFORMS  comma-separated, e.g. linux/amd64,linux/arm64
#                         (default: linux/<this machine's arch>)
#   --file DOCKERFILE     another recipe than build/worker/Dockerfile
#   OUTPUT, one of:
#   --out OUT.tar   a docker-archive tarball (`docker load -i`, `ctr images
#                   import`) of one platform, built without Docker
#   --import        imported into the local test bed's containerd
#                   (hack/localcluster, namespace k8s.io), built without Docker
#   --docker        docker buildx build --load: into the local Docker (one platform)
#   --push          docker buildx build --push: to TAG's registry (any platforms)
#
# The worker is built here for each platform, with VERSION (environment;
# default: the Makefile's, git describe) stamped in by `make ldflags`, into a
# build context at <os>/<arch>/workqueue-worker, as goreleaser lays it out.
# Without Docker, the Dockerfile's instructions are carried out by this script,
# which knows only what an image FROM scratch needs (ARG TARGETPLATFORM, COPY,
# USER, ENTRYPOINT) and refuses anything else: the recipe cannot grow a step
# that one of its builders would skip.
set -euo pipefail
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "build-image.sh: $*" >&2; exit 1; }
root=$(cd "$(dirname "$0")/../.." && pwd)
dockerfile=$root/build/worker/Dockerfile
tag='' platforms='' output='' out=''
while (($#)); do
  case $1 in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --platform) platforms=${2:?--platform needs a value}; shift 2 ;;
    --file) dockerfile=${2:?--file needs a Dockerfile}; shift 2 ;;
    --out) output=out out=${2:?--out needs a file}; shift 2 ;;
    --import | --docker | --push) output=${1#--}; shift ;;
    -h | --help) usage ;;
    *) echo "build-image.sh: unknown argument $1" >&2; usage ;;
  esac
done
[[ -n $tag && -n $output ]] || usage
platforms=${platforms:-linux/$(go env GOHOSTARCH)}
IFS=, read -ra plats <<<"$platforms"
case $output in
  out | import | docker)
    ((${#plats[@]} == 1)) || die "--$output makes an image of one platform, not $platforms (--push makes a multi-platform one)" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ctx=$work/context
# Without Docker, the Dockerfile is carried out here: FROM scratch is an empty
# root filesystem; COPY, USER and ENTRYPOINT fill it and the image's config,
# for the one platform. With "check", only whether every step is known.
rootfs=$work/rootfs user='' entrypoint=''
carry_out() {
  local instr args src dst rest
  while read -r instr args; do
    case ${instr^^} in
      '' | '#'*) ;;
      FROM) [[ $args == scratch ]] || die "$dockerfile: FROM $args: only FROM scratch can be built without Docker (use --docker)" ;;
      ARG) [[ $args == TARGETPLATFORM ]] || die "$dockerfile: ARG $args: only ARG TARGETPLATFORM is known here" ;;
      COPY)
        # shellcheck disable=SC2016  # the Dockerfile's own ${TARGETPLATFORM}, literally
        args=${args//'${TARGETPLATFORM}'/${plats[0]}} args=${args//'$TARGETPLATFORM'/${plats[0]}}
        read -r src dst rest <<<"$args"
        [[ -z $rest && $src != -* && $dst == /* ]] || die "$dockerfile: COPY $args: only COPY SRC /DEST is known here"
        [[ $1 == check ]] && continue
        [[ -f $ctx/$src ]] || die "$dockerfile: COPY $args: $src is not in the build context"
        mkdir -p "$rootfs/$(dirname "$dst")"
        cp -p "$ctx/$src" "$rootfs$dst" ;;
      USER) user=$args ;;
      ENTRYPOINT) [[ $args == \[*\] ]] || die "$dockerfile: ENTRYPOINT $args: only the JSON (exec) form is known here"
        entrypoint=$args ;;
      *) die "$dockerfile: $instr is not known here: build the image with --docker" ;;
    esac
  done <"$dockerfile"
}
case $output in out | import) carry_out check ;; esac

ldflags=$(make -s --no-print-directory -C "$root" ldflags ${VERSION:+VERSION="$VERSION"})
for p in "${plats[@]}"; do
  goos=${p%%/*} goarch=${p#*/}
  [[ $goos == linux && $goarch != */* && -n $goarch ]] || die "platform $p: want linux/<arch>"
  (cd "$root" && CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" \
    -o "$ctx/$p/workqueue-worker" ./cmd/workqueue-worker)
done

case $output in
  docker | push)
    command -v docker >/dev/null || die "--$output needs docker (use --out or --import without it)"
    docker buildx build --platform "$platforms" -f "$dockerfile" -t "$tag" "--$([[ $output == docker ]] && echo load || echo push)" "$ctx"
    exit 0 ;;
esac

mkdir -p "$rootfs"
carry_out apply
[[ $output == out ]] || out=$work/image.tar
mkdir -p "$(dirname "$out")"
"$root/hack/localcluster/images/mkimage.sh" -r "$rootfs" -o "$out" -t "$tag" -a "${plats[0]#*/}" \
  ${user:+-u "$user"} ${entrypoint:+-e "$entrypoint"} >&2

if [[ $output == import ]]; then
  . "$root/hack/localcluster/lib.sh"
  ctr version >/dev/null 2>&1 || die "the local cluster's containerd is not reachable at $CONTAINERD_SOCK: run hack/localcluster/ensure.sh first"
  ctr -n k8s.io images import "$out" >/dev/null
  ctr -n k8s.io images ls -q "name==$tag" | grep -x "$tag" >/dev/null || die "import of $tag failed"
  log "imported $tag into containerd (k8s.io)"
fi

#!/usr/bin/env bash
# Build the images the demo and the e2e suite run, and import them into the
# local cluster's containerd (there is no registry: pods find them there, with
# imagePullPolicy IfNotPresent and a tag other than :latest).
#
#   VERSION=v0.1.0 hack/images.sh [worker|example|all]      (default: all)
#
# worker   ghcr.io/kubectl-workqueue/workqueue-worker:$VERSION, the tag that
#          `kubectl workqueue run -- COMMAND` injects by default
#          (internal/version.WorkerImage), from bin/workqueue-worker (make build).
#          Uses build/worker/build-image.sh when the project has it.
# example  localhost/kubectl-workqueue/rediswq-worker:v1, the Kubernetes docs'
#          worker (test/e2e/testdata/docs-worker/worker.py with the docs' client
#          pkg/queue/testdata/rediswq.py: host "redis", queue "job2", no
#          password, so it runs against `init --no-auth`) on the cluster's Debian rootfs
#          with python3-redis, redis-cli and sh; user 65534 (nobody), so it also
#          serves `run --restricted`. Rebuilt only when its inputs change.
#
# Needs the local cluster running (hack/localcluster/ensure.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LC=$ROOT/hack/localcluster
. "$LC/lib.sh"

: "${VERSION:?set VERSION to the version stamped into bin/kubectl-workqueue (the Makefile does)}"
WORKER_TAG=ghcr.io/kubectl-workqueue/workqueue-worker:$VERSION
EXAMPLE_TAG=${WQ_EXAMPLE_IMAGE:-localhost/kubectl-workqueue/rediswq-worker:v1}
what=${1:-all}

ctr version >/dev/null 2>&1 || die "the local cluster's containerd is not running: run hack/localcluster/ensure.sh (or make cluster)"
have_image() { ctr -n k8s.io images ls -q "name==$1" | grep -x "$1" >/dev/null; }

worker_image() {
  local bin=$ROOT/bin/workqueue-worker
  [[ -x $bin ]] || die "$bin is missing: run make build"
  if [[ -x $ROOT/build/worker/build-image.sh ]]; then
    # The project's own image recipe; it imports into the local cluster when
    # asked to (see its header).
    "$ROOT/build/worker/build-image.sh" --binary "$bin" --tag "$WORKER_TAG" --import >&2
  else
    "$LC/load-image.sh" -u 65532:65532 "$bin" "$WORKER_TAG"
  fi
  have_image "$WORKER_TAG" || die "$WORKER_TAG is not in the cluster's containerd after the build"
}

example_image() {
  local rootfs=$LAB/rootfs/bookworm stamp=$ROOT/bin/.rediswq-worker.image sum tmp
  [[ -d $rootfs/usr/bin ]] || die "$rootfs is missing: hack/localcluster/build.sh makes it"
  sum=$(cat "$ROOT/pkg/queue/testdata/rediswq.py" "$ROOT/test/e2e/testdata/docs-worker/worker.py" "$0" \
    "$IMAGES/pyredis.tar" 2>/dev/null | sha256sum | cut -c1-16)
  if have_image "$EXAMPLE_TAG" && [[ -f $stamp && $(cat "$stamp") == "$EXAMPLE_TAG $sum" ]]; then
    log "$EXAMPLE_TAG is up to date"
    return
  fi
  tmp=$(mktemp -d "$ROOT/bin/.rediswq-worker.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  cp -a "$rootfs" "$tmp/rootfs"
  mkdir -p "$tmp/rootfs/app"
  install -m 0644 "$ROOT/pkg/queue/testdata/rediswq.py" "$ROOT/test/e2e/testdata/docs-worker/worker.py" "$tmp/rootfs/app/"
  "$LC/load-image.sh" -u 65534:65534 -w /app -E PYTHONUNBUFFERED=1 \
    "$tmp/rootfs" "$EXAMPLE_TAG" '["python3","/app/worker.py"]'
  echo "$EXAMPLE_TAG $sum" >"$stamp"
}

mkdir -p "$ROOT/bin"
case $what in
  worker) worker_image ;;
  example) example_image ;;
  all) worker_image; example_image ;;
  *) die "usage: hack/images.sh [worker|example|all]" ;;
esac

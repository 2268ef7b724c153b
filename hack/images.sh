#!/usr/bin/env bash
# Build the images the demo and the e2e suite run, and put them into the
# cluster they run on (there is no registry: pods find them there, with
# imagePullPolicy IfNotPresent and a tag other than :latest).
#
#   VERSION=v0.1.0 hack/images.sh [worker|example|all]      (default: all)
#
# worker   ghcr.io/kubectl-workqueue/workqueue-worker:$VERSION, the tag that
#          `kubectl workqueue run -- COMMAND` injects by default
#          (internal/version.WorkerImage), from the worker's one recipe,
#          build/worker/Dockerfile, by build/worker/build-image.sh.
# example  localhost/kubectl-workqueue/rediswq-worker:v1, the Kubernetes docs'
#          worker (test/e2e/testdata/docs-worker/worker.py with the docs' client
#          pkg/queue/testdata/rediswq.py: host "redis", queue "job2", no
#          password, so it runs against `init --no-auth`) on the cluster's Debian rootfs
#          with python3-redis, redis-cli and sh; user 65534 (nobody), so it also
#          serves `run --restricted`. Rebuilt only when its inputs change.
#
# The cluster decides how (WQ_IMAGE_LOADER=local|kind to say it yourself):
# local    the local test bed (hack/localcluster): KUBECONFIG is its kubeconfig,
#          or no kind cluster answers and the test bed runs. Images are built
#          without Docker and imported into its containerd.
# kind     a kind cluster (its node's providerID is kind://PROVIDER/NAME/NODE),
#          e.g. CI's: images are built with Docker for the node's architecture
#          and loaded with `kind load docker-image --name NAME`. "all" also
#          builds the test bed's own images the e2e suite and the demo run
#          (localhost/lk8s/redis:7.0.15, localhost/lk8s/pyredis:bookworm: Debian
#          bookworm with redis-server, redis-cli, python3-redis), from
#          hack/e2e-images.Dockerfile, as is the example image there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LC=$ROOT/hack/localcluster
. "$LC/lib.sh"

: "${VERSION:?set VERSION to the version stamped into bin/kubectl-workqueue (the Makefile does)}"
export VERSION
WORKER_TAG=ghcr.io/kubectl-workqueue/workqueue-worker:$VERSION
EXAMPLE_TAG=${WQ_EXAMPLE_IMAGE:-localhost/kubectl-workqueue/rediswq-worker:v1}
what=${1:-all}
case $what in worker | example | all) ;; *) die "usage: hack/images.sh [worker|example|all]" ;; esac

have_image() { ctr -n k8s.io images ls -q "name==$1" | grep -x "$1" >/dev/null; }
node_field() { kubectl --request-timeout=10s get nodes -o jsonpath="{.items[0].$1}" 2>/dev/null; }

loader=${WQ_IMAGE_LOADER:-}
if [[ -z $loader ]]; then
  if [[ -n ${KUBECONFIG:-} && ${KUBECONFIG:-} -ef $KUBECONFIG_OUT ]]; then
    loader=local
  elif [[ $(node_field spec.providerID) == kind://* ]]; then
    loader=kind
  elif ctr version >/dev/null 2>&1; then
    loader=local
  else
    die "no cluster to put the images into: neither a kind cluster in KUBECONFIG nor the local test bed (start it with hack/localcluster/ensure.sh, or make cluster)"
  fi
fi

case $loader in
  local)
    ctr version >/dev/null 2>&1 || die "the local cluster's containerd is not running: run hack/localcluster/ensure.sh (or make cluster)"

    worker_image() {
      "$ROOT/build/worker/build-image.sh" --tag "$WORKER_TAG" --import >&2
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
    testbed_images() { :; } # the test bed brings its own
    ;;

  kind)
    for tool in docker kind; do
      command -v "$tool" >/dev/null || die "images for a kind cluster need $tool on PATH"
    done
    provider_id=$(node_field spec.providerID)
    [[ $provider_id == kind://*/*/* ]] || die "the cluster's node has providerID '$provider_id', not kind://PROVIDER/NAME/NODE: is KUBECONFIG a kind cluster's?"
    cluster=${provider_id#kind://*/} cluster=${cluster%%/*}
    arch=$(node_field status.nodeInfo.architecture)
    kind_load() { log "kind load docker-image --name $cluster $*"; kind load docker-image --name "$cluster" "$@" >&2; }

    worker_image() {
      "$ROOT/build/worker/build-image.sh" --tag "$WORKER_TAG" --platform "linux/$arch" --docker >&2
      kind_load "$WORKER_TAG"
    }
    # One build context for hack/e2e-images.Dockerfile: the docs' worker files.
    docker_e2e_image() {
      local target=$1 ctx
      shift
      ctx=$(mktemp -d)
      install -m 0644 "$ROOT/pkg/queue/testdata/rediswq.py" "$ROOT/test/e2e/testdata/docs-worker/worker.py" "$ctx/"
      docker build --platform "linux/$arch" -f "$ROOT/hack/e2e-images.Dockerfile" --target "$target" \
        "${@/#/--tag=}" "$ctx" >&2
      rm -rf "$ctx"
      kind_load "$@"
    }
    testbed_images() { docker_e2e_image testbed "$REDIS_IMAGE" "$WORKER_IMAGE"; }
    example_image() { docker_e2e_image example "$EXAMPLE_TAG"; }
    ;;

  *) die "WQ_IMAGE_LOADER=$loader: want local or kind" ;;
esac

mkdir -p "$ROOT/bin"
case $what in
  worker) worker_image ;;
  example) example_image ;;
  all) worker_image; testbed_images; example_image ;;
esac

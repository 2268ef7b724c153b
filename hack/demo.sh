#!/usr/bin/env bash
# `make demo`: the Kubernetes docs' work-queue pattern, end to end, with
# kubectl workqueue.
#
#   hack/demo.sh          build, bring up a cluster if needed, run the demo
#   hack/demo.sh --down   tear down what the demo brought up (make demo-down)
#
# Cluster: if KUBECONFIG (or ~/.kube/config) reaches a cluster other than the
# local test bed, the demo uses it, in namespace workqueue-demo, with the
# published images (it cannot import images there). Otherwise it builds and
# starts the local single-node cluster (hack/localcluster; cold ~15 min, then
# seconds) and imports the locally built worker image into it.
#
# A second run reuses everything: init is idempotent, the queue and Job of the
# previous run are deleted first.
#
# Overrides: DEMO_IMAGE (the task's image, with sh), DEMO_REDIS_IMAGE (init
# --image), DEMO_WORKER_IMAGE (run --worker-image; needed on your own cluster
# for a development build, whose worker image is not published).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LC=$ROOT/hack/localcluster
LOCAL_KUBECONFIG=$(. "$LC/lib.sh"; echo "$KUBECONFIG_OUT")
: "${VERSION:=$(git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}"
export VERSION
QUEUE=job2
JOB=wq-job2

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
# show prints a command the way a user would type it, then runs it.
show() {
  local a out=()
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@,+-]+$ ]]; then out+=("$a"); else out+=("'${a//\'/\'\\\'\'}'"); fi
  done
  printf '\033[1;32m+ %s\033[0m\n' "${out[*]}"
  "$@"
}

# reachable: does the current kubeconfig reach a cluster?
reachable() { kubectl --request-timeout=5s get --raw /readyz >/dev/null 2>&1; }
# local_cluster: is the current kubeconfig the local test bed's?
local_cluster() { [[ ${KUBECONFIG:-} -ef $LOCAL_KUBECONFIG ]]; }

if [[ ${1:-} == --down ]]; then
  if [[ -n ${KUBECONFIG:-} ]] && ! local_cluster && reachable; then
    step "deleting namespace workqueue-demo from your cluster"
    show kubectl delete namespace workqueue-demo --ignore-not-found
  else
    step "stopping the local cluster (build outputs stay; make demo brings it back in seconds)"
    "$LC/down.sh"
  fi
  exit 0
fi

T0=$SECONDS
external=
if [[ ${KUBECONFIG:-} || -f $HOME/.kube/config ]] && ! local_cluster && reachable; then
  external=1
fi

step "building kubectl-workqueue and workqueue-worker ($VERSION)"
make --no-print-directory build VERSION="$VERSION"

if [[ $external ]]; then
  step "using your cluster: $(kubectl config current-context 2>/dev/null || echo "$KUBECONFIG")"
  note "Images cannot be loaded into it from here: the demo uses published images."
  NS=workqueue-demo
  REDIS_ARGS=(${DEMO_REDIS_IMAGE:+--image "$DEMO_REDIS_IMAGE"})
  TASK_IMAGE=${DEMO_IMAGE:-docker.io/library/busybox:1.36}
  WORKER_ARGS=()
  if [[ -n ${DEMO_WORKER_IMAGE:-} ]]; then
    WORKER_ARGS=(--worker-image "$DEMO_WORKER_IMAGE")
  elif [[ ! $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    note "This is a development build ($VERSION): ghcr.io/kubectl-workqueue/workqueue-worker:$VERSION"
    note "is not published. Push one (build/worker/build-image.sh --push --tag REGISTRY/workqueue-worker:TAG)"
    note "and set DEMO_WORKER_IMAGE=REGISTRY/workqueue-worker:TAG."
  fi
  kubectl get namespace "$NS" >/dev/null 2>&1 || show kubectl create namespace "$NS"
else
  step "bringing up the local Kubernetes cluster (hack/localcluster; the first time takes ~15 min)"
  eval "$("$LC/ensure.sh")"
  export KUBECONFIG
  step "importing the worker image into the cluster (no registry: containerd import)"
  hack/images.sh worker
  NS=default
  # The test bed has no registry access: its Redis image stands in for
  # docker.io/library/redis, and the task runs in its Debian image.
  REDIS_ARGS=(--image "${DEMO_REDIS_IMAGE:-localhost/lk8s/redis:7.0.15}")
  TASK_IMAGE=${DEMO_IMAGE:-localhost/lk8s/pyredis:bookworm}
  WORKER_ARGS=()
fi

# kubectl finds the plugin on PATH by its name, kubectl-workqueue.
export PATH=$ROOT/bin:$PATH
NSARGS=()
[[ $NS == default ]] || NSARGS=(-n "$NS")
# -n goes first: nothing may follow the "--" of run.
wq() { show kubectl workqueue "${NSARGS[@]}" "$@"; }

step "the docs' work-queue pattern, with kubectl workqueue"
wq init "${REDIS_ARGS[@]}"
replace=()
if kubectl get job "$JOB" "${NSARGS[@]}" >/dev/null 2>&1; then
  note "(a previous demo left queue $QUEUE and Job $JOB: starting over)"
  wq delete "$QUEUE" --yes
  replace=(--replace)
fi
wq seed "$QUEUE" apple banana cherry date fig grape lemon melon orange
wq run "$QUEUE" --image "$TASK_IMAGE" --parallelism 2 "${replace[@]}" "${WORKER_ARGS[@]}" \
  -- sh -c 'echo "processing $WORKQUEUE_ITEM"; sleep 1'
wq status "$QUEUE"
wq logs "$JOB"

step "done in $((SECONDS - T0))s"
nsflag=${NSARGS[*]:+ ${NSARGS[*]}}
cat >&2 <<EOF
The cluster is still up. To use it (and the plugin) from your shell:

  export KUBECONFIG=$KUBECONFIG PATH=$ROOT/bin:\$PATH
  kubectl workqueue$nsflag status $QUEUE
  kubectl get jobs,pods$nsflag

Tear it down: make demo-down
EOF

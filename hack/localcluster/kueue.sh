#!/usr/bin/env bash
# Kueue for the e2e test of Kueue admission (test/e2e/kueue_test.go), on the
# running local cluster, without changing what any other Job sees. Prints
# the path of Kueue's manager binary; idempotent, safe on a running cluster.
#
#   - builds the manager at the version .tool-versions pins, from the Go
#     module proxy (hack/tools.sh kueue: ~10 min cold, then cached)
#   - applies Kueue's CRDs from the same module, server-side
#   - makes the namespace kueue-system, where the managers' leader-election
#     lease lives
#   - makes /etc/kueue/metrics/certs: a self-signed certificate, which the
#     manager requires when it does not manage its certificates itself
#
# The test starts the manager itself, as a process outside the cluster, and
# stops it: no webhook is registered, so Kueue sees only Jobs labelled
# kueue.x-k8s.io/queue-name; it is leader-elected, so concurrent tests share
# one. No container registry is needed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$KUBECONFIG_OUT}

bin=$("$ROOT/hack/tools.sh" kueue)
version=$(awk '$1 == "kueue" { print $2; exit }' "$ROOT/.tool-versions")
# Outside the project's module, so that its go.mod and go.sum stay as they are.
dir=$(cd "$(mktemp -d)" && go mod download -json "sigs.k8s.io/kueue@v$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d $dir/config/components/crd/bases ]] || die "Kueue's CRDs are not in the module sigs.k8s.io/kueue@v$version ($dir)"
kubectl apply --server-side --force-conflicts --field-manager=kubectl-workqueue-e2e \
  -f "$dir/config/components/crd/bases" >/dev/null
kubectl get namespace kueue-system >/dev/null 2>&1 || kubectl create namespace kueue-system >/dev/null

certs=/etc/kueue/metrics/certs
if [[ ! -s $certs/tls.crt || ! -s $certs/tls.key ]]; then
  SUDO=
  [[ $(id -u) == 0 ]] || SUDO=sudo
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=kueue-metrics \
    -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
  $SUDO mkdir -p "$certs"
  $SUDO install -m 0644 "$tmp/tls.crt" "$tmp/tls.key" "$certs/"
fi
echo "$bin"

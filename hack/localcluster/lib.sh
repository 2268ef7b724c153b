# Shared settings for the local single-node Kubernetes test cluster.
# shellcheck disable=SC2034  # variables are used by the scripts that source this file
# Sourced by build.sh, up.sh, down.sh, ensure.sh, load-image.sh. Every value
# can be overridden from the environment (LK8S_*), but the defaults are what
# the README documents.

LAB=${LK8S_LAB:-/var/lib/localk8s}            # build outputs + cluster state (not a git repo)
K8S_VERSION=${LK8S_K8S_VERSION:-v1.33.13} # see README: why 1.33 and not 1.32
BIN=$LAB/build/bin                        # kube-apiserver, kubelet, ...
IMAGES=$LAB/images                        # image tarballs (docker-archive format)
STATE=$LAB/state                          # etcd data, pki, kubeconfigs, logs, pids
RUNDIR=/run/localk8s                      # containerd state + socket
PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
KUBECONFIG_OUT=${LK8S_KUBECONFIG:-$LAB/kubeconfig}   # admin kubeconfig for users

NODE_NAME=localk8s-node
NODE_BRIDGE=lk8snode0        # bridge that only carries the node IP (no ports)
NODE_IP=10.250.0.1
POD_BRIDGE=lk8scni0          # CNI bridge the pods are attached to
POD_CIDR=10.244.0.0/24
POD_GW=10.244.0.1
SVC_CIDR=10.96.0.0/24
SVC_KUBERNETES_IP=10.96.0.1
APISERVER_PORT=6443
ETCD_CLIENT=http://127.0.0.1:2379
ETCD_PEER=http://127.0.0.1:2380
CONTAINERD_SOCK=$RUNDIR/containerd/containerd.sock
CNI_BIN=/usr/lib/cni

PAUSE_IMAGE=registry.k8s.io/pause:3.10
REDIS_IMAGE=localhost/lk8s/redis:7.0.15          # debian bookworm rootfs
WORKER_IMAGE=localhost/lk8s/pyredis:bookworm     # same layer, second tag
COREDNS_VERSION=${LK8S_COREDNS_VERSION:-v1.14.7}  # optional DNS add-on (LK8S_WITH_DNS=1 build.sh)
COREDNS_IMAGE=localhost/lk8s/coredns:${COREDNS_VERSION#v}
CLUSTER_DNS_IP=10.96.0.10
# kubectl-workqueue's Jobs reach Redis by Service name: cluster DNS is on by
# default (build.sh builds CoreDNS, up.sh requires and deploys it).
WITH_DNS=${LK8S_WITH_DNS:-1}
# every daemon up.sh starts, in start order
COMPONENTS=(etcd kube-apiserver kube-controller-manager provisioner kube-scheduler containerd kubelet kube-proxy)

export CONTAINERD_ADDRESS=$CONTAINERD_SOCK
export PATH=$BIN:$PATH

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# lk8s_alive NAME: the PID file of NAME names a live process whose executable
# is the one up.sh started (a PID reused by something else after a crash or
# reboot does not count).
lk8s_alive() {
  local pid exe
  [[ -f $PIDS/$1.pid && -f $PIDS/$1.exe ]] || return 1
  pid=$(cat "$PIDS/$1.pid"); exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ $exe == "$(cat "$PIDS/$1.exe")" ]]
}

#!/bin/bash
# Start the local single-node Kubernetes cluster (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd, kubelet, kube-proxy)
# as plain background processes on this machine. Needs root and the outputs of
# build.sh. Idempotent: components whose PID file points at a live process are
# left alone. Recovers from a cluster whose processes were all killed with
# SIGKILL (no down.sh): stale PID files, containerd socket and shims, dead pod
# sandboxes, bridges, mounts and iptables rules left behind are cleaned up or
# reused. Stop everything with down.sh.
#
#   hack/localcluster/up.sh            # start, wait for node Ready + smoke pod (DNS + ClusterIP checked)
#   hack/localcluster/up.sh --no-smoke # skip the smoke-test pod
#   export KUBECONFIG=/var/lib/localk8s/kubeconfig
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

SMOKE=1
[[ ${1:-} == --no-smoke ]] && SMOKE=0
[[ $(id -u) == 0 ]] || die "must run as root"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy lk8s-provisioner; do
  [[ -x $BIN/$b ]] || die "$BIN/$b missing - run build.sh first"
done
for f in "$IMAGES/pause.tar" "$IMAGES/pyredis.tar"; do
  [[ -f $f ]] || die "$f missing - run build.sh first"
done
if [[ $WITH_DNS == 1 && ! -f $IMAGES/coredns.tar ]]; then
  die "$IMAGES/coredns.tar missing - run build.sh (cluster DNS is on by default; LK8S_WITH_DNS=0 to run without)"
fi
T0=$(date +%s.%N)
mkdir -p "$STATE" "$PKI" "$LOGS" "$PIDS" "$RUNDIR" "$STATE/cni/net.d" "$STATE/cni/ipam"

# ---------------------------------------------------------------- helpers
# A component is alive if its PID file names a live process whose executable
# is the one we started (guards against PID reuse after a reboot).
alive() { lk8s_alive "$@"; }
declare -A STARTED_AT=()   # components started by this run -> epoch seconds
start() { # start NAME CMD... : run detached (own session), log + pid file
  local name=$1; shift
  if alive "$name"; then log "$name already running (pid $(cat "$PIDS/$name.pid"))"; return; fi
  log "starting $name"
  STARTED_AT[$name]=$(date +%s)
  readlink -f "$(command -v "$1")" >"$PIDS/$name.exe"
  nohup setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}
wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local t=$1 what=$2; shift 2
  local end=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < end )) || die "timed out after ${t}s waiting for $what"
    sleep 0.5
  done
}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
# Write stdin to FILE only when the content changes (kube-proxy exits when its
# config file is rewritten, even with identical content).
# CHANGED=1 afterwards if the file was (re)written.
CHANGED=0
writefile() {
  local t; t=$(mktemp "$1.XXXXXX"); cat >"$t"
  if cmp -s "$t" "$1"; then rm -f "$t"; else mv "$t" "$1"; CHANGED=1; fi
}
# Stop a running component whose config file just changed, so that start()
# below starts it again with the new config.
stop_if_changed() {
  local name=$1 pid
  ((CHANGED)) || return 0
  CHANGED=0
  alive "$name" || return 0
  pid=$(cat "$PIDS/$name.pid")
  log "config of $name changed, restarting it (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
kc() { kubectl --kubeconfig "$STATE/admin.kubeconfig" "$@"; }

# ---------------------------------------------------------------- crash recovery
# The daemons may all have been killed with SIGKILL (CI kills every process of
# a session; a VM may be restored or rebooted; /run is on disk here), without
# down.sh. What is left and how it is handled:
#  - PID files of dead processes: removed here (alive() already ignores them).
#  - containerd's socket and state under /run/localk8s: the socket is removed
#    here; containerd itself cleans up tasks whose shim is dead (runc delete
#    --force kills what is left of the container) on start.
#  - shims that outlived containerd: the new containerd reconnects to them
#    (the normal containerd restart path), so their containers keep running.
#  - pod sandboxes, netns mounts, veths, host-local IP leases: the restarted
#    kubelet stops and garbage-collects the dead sandboxes through CRI (CNI
#    DEL) and starts new ones for the pods still stored in etcd.
#  - bridges, sysctls, isolation rules: reused / re-applied idempotently below;
#    kube-proxy and the kubelet resync their own iptables chains.
# The provisioner is rebuilt when its source changes (build.sh, through
# ensure.sh), while the old one may still run a now deleted executable: stop
# that one, so that the new one starts below.
if [[ -f $PIDS/provisioner.pid && -f $PIDS/provisioner.exe ]]; then
  pid=$(cat "$PIDS/provisioner.pid")
  if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$(cat "$PIDS/provisioner.exe") (deleted)" ]]; then
    log "provisioner was rebuilt: stopping the old one (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PIDS/provisioner.pid" "$PIDS/provisioner.exe"
  fi
fi
for c in "${COMPONENTS[@]}"; do
  if [[ -f $PIDS/$c.pid ]] && ! alive "$c"; then
    log "$c is not running (stale PID file, pid $(cat "$PIDS/$c.pid")) - recovering"
    rm -f "$PIDS/$c.pid" "$PIDS/$c.exe"
  fi
done
if ! alive containerd; then
  rm -f "$CONTAINERD_SOCK" "$CONTAINERD_SOCK.ttrpc"
fi

# ---------------------------------------------------------------- host network
# (no "| grep -q" under pipefail: grep exiting early SIGPIPEs the writer and
# fails the pipeline at random; grep >/dev/null reads everything)
# A bridge that only carries the node IP: apiserver/kubelet listen there, so no
# cluster component listens on the VM's real interface.
if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  ip link add "$NODE_BRIDGE" type bridge
fi
ip addr show dev "$NODE_BRIDGE" | grep "inet $NODE_IP/" >/dev/null || ip addr add "$NODE_IP/32" dev "$NODE_BRIDGE"
ip link set "$NODE_BRIDGE" up
# Pre-create the CNI bridge so the gateway address exists before the first pod.
if ! ip link show "$POD_BRIDGE" >/dev/null 2>&1; then
  ip link add "$POD_BRIDGE" type bridge
fi
ip addr show dev "$POD_BRIDGE" | grep "inet $POD_GW/" >/dev/null || ip addr add "$POD_GW/24" dev "$POD_BRIDGE"
ip link set "$POD_BRIDGE" up
# Service ClusterIP -> pod on the same bridge needs routing + bridge netfilter.
# Remember every sysctl that we or the kubelet/kube-proxy change, so that
# down.sh can restore them (kubelet sets vm.overcommit_memory=1, kernel.panic=10,
# kernel.panic_on_oops=1; kube-proxy may set route_localnet/conntrack values).
if [[ ! -f $STATE/sysctl.orig ]]; then
  for k in net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables vm/overcommit_memory vm/panic_on_oom \
           kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes \
           net/ipv4/conf/all/route_localnet net/netfilter/nf_conntrack_max; do
    if [[ -f /proc/sys/$k ]]; then echo "$k $(cat "/proc/sys/$k")"; fi
  done >"$STATE/sysctl.orig"
fi
echo 1 >/proc/sys/net/ipv4/ip_forward
# nft tables that exist before we (iptables-nft via kube-proxy/kubelet) create any
if [[ ! -f $STATE/nft-tables.orig ]] && command -v nft >/dev/null; then nft list tables >"$STATE/nft-tables.orig"; fi
echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
# Keep pod traffic on this machine: nothing from/to the pod CIDR is forwarded
# through any interface other than the pod bridge. In the mangle table so the
# rules stay ahead of everything kube-proxy/kubelet insert into filter FORWARD.
for dir in "-s $POD_CIDR ! -o $POD_BRIDGE" "-d $POD_CIDR ! -i $POD_BRIDGE"; do
  # shellcheck disable=SC2086
  iptables -w -t mangle -C FORWARD $dir -m comment --comment lk8s-isolate -j DROP 2>/dev/null ||
    iptables -w -t mangle -I FORWARD 1 $dir -m comment --comment lk8s-isolate -j DROP
done
# Pods may not open connections to the host itself either (other services on
# this machine listen on 0.0.0.0, i.e. also on the pod gateway 10.244.0.1 and
# the node IP): from the pod CIDR, the host accepts only replies to
# connections it opened (kubelet probes) and the API server on the node IP
# (the kubernetes Service). IPv6 from pods (link-local only) is dropped.
iptables -w -t mangle -N LK8S-ISOLATE-IN 2>/dev/null || true
iptables -w -t mangle -F LK8S-ISOLATE-IN
iptables -w -t mangle -A LK8S-ISOLATE-IN -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
iptables -w -t mangle -A LK8S-ISOLATE-IN -d "$NODE_IP" -p tcp --dport "$APISERVER_PORT" -j RETURN
iptables -w -t mangle -A LK8S-ISOLATE-IN -m comment --comment lk8s-isolate -j DROP
iptables -w -t mangle -C INPUT -s "$POD_CIDR" -m comment --comment lk8s-isolate -j LK8S-ISOLATE-IN 2>/dev/null ||
  iptables -w -t mangle -I INPUT 1 -s "$POD_CIDR" -m comment --comment lk8s-isolate -j LK8S-ISOLATE-IN
for chain in INPUT FORWARD; do
  ip6tables -w -t mangle -C $chain -i "$POD_BRIDGE" -m comment --comment lk8s-isolate -j DROP 2>/dev/null ||
    ip6tables -w -t mangle -I $chain 1 -i "$POD_BRIDGE" -m comment --comment lk8s-isolate -j DROP
done

# ---------------------------------------------------------------- PKI
cert() { # cert NAME SUBJ [SAN] : key + cert signed by the cluster CA
  local name=$1 subj=$2 san=${3:-}
  [[ -f $PKI/$name.crt ]] && return
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $san ]]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi
  } >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}
if [[ ! -f $PKI/ca.crt ]]; then
  log "creating PKI in $PKI"
  openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -nodes -key "$PKI/ca.key" -subj "/CN=localk8s-ca" -days 3650 -sha256 -out "$PKI/ca.crt"
fi
cert apiserver "/CN=kube-apiserver" \
  "IP:$NODE_IP,IP:127.0.0.1,IP:$SVC_KUBERNETES_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert admin "/O=system:masters/CN=localk8s-admin"
cert controller-manager "/CN=system:kube-controller-manager"
cert scheduler "/CN=system:kube-scheduler"
cert kube-proxy "/CN=system:kube-proxy"
cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME"
cert kubelet-serving "/CN=$NODE_NAME" "IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE_NAME,DNS:localhost"
if [[ ! -f $PKI/sa.key ]]; then
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi
chmod 600 "$PKI"/*.key

mkkubeconfig() { # mkkubeconfig NAME CERTNAME SERVER
  local f=$STATE/$1.kubeconfig
  [[ -f $f ]] && return
  kubectl config set-cluster localk8s --certificate-authority="$PKI/ca.crt" --embed-certs=true \
    --server="$3" --kubeconfig="$f" >/dev/null
  kubectl config set-credentials "$1" --client-certificate="$PKI/$2.crt" --client-key="$PKI/$2.key" \
    --embed-certs=true --kubeconfig="$f" >/dev/null
  kubectl config set-context localk8s --cluster=localk8s --user="$1" --kubeconfig="$f" >/dev/null
  kubectl config use-context localk8s --kubeconfig="$f" >/dev/null
  chmod 600 "$f"
}
SERVER=https://$NODE_IP:$APISERVER_PORT
mkkubeconfig admin admin "$SERVER"
mkkubeconfig controller-manager controller-manager "$SERVER"
mkkubeconfig scheduler scheduler "$SERVER"
mkkubeconfig kube-proxy kube-proxy "$SERVER"
mkkubeconfig kubelet kubelet-client "$SERVER"
install -m 600 "$STATE/admin.kubeconfig" "$KUBECONFIG_OUT"

# ---------------------------------------------------------------- etcd
start etcd etcd --name localk8s --data-dir "$STATE/etcd" \
  --listen-client-urls "$ETCD_CLIENT" --advertise-client-urls "$ETCD_CLIENT" \
  --listen-peer-urls "$ETCD_PEER" --initial-advertise-peer-urls "$ETCD_PEER" \
  --initial-cluster "localk8s=$ETCD_PEER" --listen-metrics-urls "" \
  --quota-backend-bytes 2147483648 --snapshot-count 10000
wait_for 30 etcd curl -sf "$ETCD_CLIENT/health"

# ---------------------------------------------------------------- apiserver
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers="$ETCD_CLIENT" \
  --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port="$APISERVER_PORT" \
  --service-cluster-ip-range="$SVC_CIDR" \
  --client-ca-file="$PKI/ca.crt" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" \
  --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true \
  --profiling=false \
  --v=1
wait_for 90 "kube-apiserver /readyz" kc get --raw /readyz

# ---------------------------------------------------------------- controllers
start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" \
  --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --allocate-node-cidrs=false \
  --controllers='*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller' \
  --concurrent-job-syncs=5 \
  --profiling=false \
  --v=1
# Dynamic provisioning for the default StorageClass (addons/storage.yaml):
# hostPath volumes under $STATE/pv that non-root pods can write to.
start provisioner "$BIN/lk8s-provisioner" \
  -kubeconfig "$STATE/admin.kubeconfig" \
  -dir "$STATE/pv"
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig="$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --leader-elect=false \
  --profiling=false \
  --v=1

# ---------------------------------------------------------------- containerd
mkdir -p "$STATE/containerd"
writefile "$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$RUNDIR/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM drops CAP_SYS_RESOURCE from the bounding set: nobody (not even
  # root) may lower oom_score_adj, but kubelet asks for -998 (sandbox) and
  # -997 (Guaranteed pods). Clamp to containerd's own value (0) instead of
  # failing with "write to /proc/self/oom_score_adj: Permission denied"
  # (crun) / "can't get final child's PID from pipe: EOF" (runc).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$STATE/cni/net.d"
EOF
writefile "$STATE/cni/net.d/10-lk8s.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "lk8s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$POD_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
stop_if_changed containerd
start containerd containerd --config "$STATE/containerd/config.toml"
wait_for 30 containerd ctr version
DNS=0
[[ $WITH_DNS == 1 ]] && DNS=1   # CoreDNS add-on (default on; LK8S_WITH_DNS=0 to run without)
imgs=(pause pyredis)
((DNS)) && imgs+=(coredns)
for img in "${imgs[@]}"; do
  ref=$(tar -xOf "$IMAGES/$img.tar" manifest.json | grep -o '"RepoTags":\["[^"]*' | cut -d'"' -f4)
  if ! ctr -n k8s.io images check "name==$ref" 2>/dev/null | grep complete >/dev/null; then
    log "importing $img.tar into containerd"
    ctr -n k8s.io images import "$IMAGES/$img.tar" >/dev/null
  fi
done

# ---------------------------------------------------------------- kubelet
mkdir -p "$STATE/kubelet"
[[ -f $STATE/kubelet/resolv.conf ]] || : >"$STATE/kubelet/resolv.conf"   # pods get no upstream DNS server (no egress anyway)
writefile "$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
failSwapOn: false
failCgroupV1: false
resolvConf: $STATE/kubelet/resolv.conf
clusterDomain: cluster.local
$( ((DNS)) && echo "clusterDNS: [$CLUSTER_DNS_IP]")
serializeImagePulls: false
maxPods: 50
podPidsLimit: 4096
evictionHard:
  memory.available: "200Mi"
  nodefs.available: "2%"
  imagefs.available: "2%"
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
containerLogMaxSize: 10Mi
nodeStatusReportFrequency: 10s
EOF
stop_if_changed kubelet
start kubelet "$BIN/kubelet" \
  --config="$STATE/kubelet/config.yaml" \
  --kubeconfig="$STATE/kubelet.kubeconfig" \
  --root-dir="$STATE/kubelet/root" \
  --hostname-override="$NODE_NAME" \
  --node-ip="$NODE_IP" \
  --v=1

# ---------------------------------------------------------------- kube-proxy
mkdir -p "$STATE/kube-proxy"
writefile "$STATE/kube-proxy/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $POD_CIDR
nodePortAddresses: ["$NODE_IP/32"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: false, syncPeriod: 10s, minSyncPeriod: 0s}
EOF
stop_if_changed kube-proxy
start kube-proxy "$BIN/kube-proxy" --config="$STATE/kube-proxy/config.yaml" --v=1

# ---------------------------------------------------------------- wait
log "waiting for node $NODE_NAME to be Ready"
wait_for 120 "kubelet /healthz" curl -sf http://127.0.0.1:10248/healthz
wait_for 120 "node registration" kc get node "$NODE_NAME"
# After a crash the stored node status still says Ready: wait for a heartbeat
# from the kubelet that is running now.
kubelet_start=${STARTED_AT[kubelet]:-0}
fresh_ready() {
  local st hb
  read -r st hb < <(kc get node "$NODE_NAME" -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.lastHeartbeatTime}{end}')
  [[ $st == True ]] && (( $(date -d "$hb" +%s) >= kubelet_start ))
}
wait_for 120 "node Ready (fresh kubelet heartbeat)" fresh_ready
wait_for 60 "default service account" kc -n default get serviceaccount default
log "node Ready after $(elapsed "$T0")s"

kc apply -f "$HERE/addons/storage.yaml" >/dev/null
log "default StorageClass local-hostpath (provisioner: $BIN/lk8s-provisioner, volumes in $STATE/pv)"

if ((DNS)); then
  sed -e "s/COREDNS_TAG/${COREDNS_VERSION#v}/" -e "s/CLUSTER_DNS_IP/$CLUSTER_DNS_IP/" \
    "$HERE/addons/coredns.yaml" | kc apply -f - >/dev/null
  kc -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null ||
    die "coredns did not become available (see kubectl -n kube-system describe pod -l k8s-app=kube-dns)"
  log "cluster DNS (CoreDNS ${COREDNS_VERSION}) ready at $CLUSTER_DNS_IP"
fi

if (( SMOKE )); then
  kc delete pod lk8s-smoke --ignore-not-found --wait=true >/dev/null
  S0=$(date +%s.%N)
  # with DNS: kubernetes.default must resolve through CoreDNS at its ClusterIP
  # (checks CoreDNS, kube-proxy's DNAT rules and pod networking in one go)
  check='echo smoke-ok'
  ((DNS)) && check='for i in $(seq 60); do getent hosts kubernetes.default >/dev/null && break; sleep 0.5; done
    getent hosts kubernetes.default | grep -q "^'$SVC_KUBERNETES_IP' " && echo smoke-ok'
  kc run lk8s-smoke --image="$WORKER_IMAGE" --image-pull-policy=Never --restart=Never \
    --command -- sh -c "$check" >/dev/null
  kc wait --for=jsonpath='{.status.phase}'=Succeeded pod/lk8s-smoke --timeout=120s >/dev/null \
    || { kc describe pod lk8s-smoke; kc logs lk8s-smoke || true; die "smoke pod did not succeed"; }
  out=$(kc logs lk8s-smoke)
  [[ $out == smoke-ok ]] || die "unexpected smoke pod log: $out"
  kc delete pod lk8s-smoke --wait=false >/dev/null
  log "smoke pod ran and completed in $(elapsed "$S0")s$( ((DNS)) && echo ' (cluster DNS + ClusterIP OK)')"
fi
log "cluster up in $(elapsed "$T0")s; export KUBECONFIG=$KUBECONFIG_OUT"

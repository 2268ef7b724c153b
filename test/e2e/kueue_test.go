//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/certgen"
)

// kueueManager starts Kueue's manager (hack/localcluster/kueue.sh builds it
// and installs Kueue's CRDs) outside the cluster for the rest of the test.
// It registers no webhook, so it sees only Jobs labelled for a LocalQueue;
// it is leader-elected, so a manager of a concurrent test may be the one
// that acts.
func kueueManager(t *testing.T) {
	t.Helper()
	bin := os.Getenv("WQ_E2E_KUEUE")
	if bin == "" {
		t.Fatal("WQ_E2E_KUEUE is not set: run hack/localcluster/kueue.sh (hack/e2e.sh does) and set it to the path it prints")
	}
	dir := t.TempDir()
	// The webhook server serves nothing here, but does not start without
	// a certificate.
	ca, err := certgen.NewCA("kueue-e2e", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Server(time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.crt": pair.CertPEM, "tls.key": pair.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: kueue-system
health: {healthProbeBindAddress: "127.0.0.1:0"}
metrics: {bindAddress: "0"}
webhook: {host: 127.0.0.1, port: %d, certDir: %s}
leaderElection:
  leaderElect: true
  resourceNamespace: kueue-system
  resourceName: kubectl-workqueue-e2e.kueue.x-k8s.io
  leaseDuration: 6s
  renewDeadline: 4s
  retryPeriod: 1s
internalCertManagement: {enable: false}
integrations: {frameworks: ["batch/job"]}
`, freePort(t), dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, 15*time.Minute, nil, bin, "--config", config,
		"--feature-gates", "VisibilityOnDemand=false", "--zap-log-level", "error")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Kueue's manager:%s", tail(p.err.String(), 20))
		}
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestKueueAdmission: run --kueue-queue against a real Kueue: the Job waits
// suspended while its LocalQueue's ClusterQueue has too little quota (wait
// says so), and Kueue admits it once the quota is raised; it completes.
func TestKueueAdmission(t *testing.T) {
	requireCommands(t, "init", "seed", "run")
	e := newEnv(t, "kueue")
	kueueManager(t)
	// Cluster-scoped, named after the test's namespace; removed while the
	// manager still runs, which holds finalizers on them.
	cq := e.ns
	e.mustKubectl("apply", "-f", writeTemp(t, "queues.yaml", fmt.Sprintf(`apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata: {name: %[1]s}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: %[1]s}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %[1]s}}
  resourceGroups:
  - coveredResources: [cpu, memory]
    flavors:
    - name: %[1]s
      resources: [{name: cpu, nominalQuota: 100m}, {name: memory, nominalQuota: 1Gi}]
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: LocalQueue
metadata: {name: team-a}
spec: {clusterQueue: %[1]s}
`, cq)))
	t.Cleanup(func() {
		e.kubectl("delete", "jobs", "--all", "--cascade=foreground", "--timeout=60s")
		e.kubectl("delete", "workloads.kueue.x-k8s.io", "--all", "--timeout=60s")
		e.kubectl("delete", "localqueue", "team-a", "--timeout=60s")
		e.kubectl("delete", "clusterqueue,resourceflavor", cq, "--timeout=60s")
	})
	eventually(t, 2*time.Minute, time.Second, "Kueue to make the ClusterQueue active", func() bool {
		return e.kubectl("get", "clusterqueue", cq, "-o", `jsonpath={.status.conditions[?(@.type=="Active")].status}`).stdout == "True"
	})

	e.initRedis()
	if _, r := e.seedFile("gpu", "item", 3); r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	const job = "wq-gpu"
	// 200m of CPU, the ClusterQueue has 100m: Kueue cannot admit the Job.
	p := e.wqStart(5*time.Minute, "run", "gpu", "--image", userImage, "--kueue-queue", "team-a", "--requests", "cpu=200m",
		"--stuck-grace", "2s", "--", "sh", "-c", `echo "processed $WORKQUEUE_ITEM"`)
	eventually(t, time.Minute, 500*time.Millisecond, "wait to say the Job waits for admission", func() bool {
		select {
		case <-p.done:
			t.Fatalf("run ended before Kueue admitted the Job:\n%v", p.wait())
		default:
		}
		return strings.Contains(p.err.String(), "suspended: waiting for admission (Kueue LocalQueue team-a)")
	})
	if s := e.jobField(job, ".spec.suspend"); s != "true" {
		t.Fatalf("spec.suspend %q before admission", s)
	}
	wl := e.mustKubectl("get", "workloads.kueue.x-k8s.io", "-o", `jsonpath={range .items[*]}{.spec.queueName}{" "}{.status.conditions[?(@.type=="QuotaReserved")].reason}{"\n"}{end}`).stdout
	if !strings.HasPrefix(strings.TrimSpace(wl), "team-a Pending") {
		t.Errorf("Kueue's Workload for the Job: %q, want one in team-a, pending quota", wl)
	}
	if pods := e.jobPods(job); len(pods) != 0 {
		t.Errorf("pods before admission: %v", pods)
	}

	e.mustKubectl("patch", "clusterqueue", cq, "--type", "json", "-p",
		`[{"op":"replace","path":"/spec/resourceGroups/0/flavors/0/resources/0/nominalQuota","value":"1"}]`)
	r := p.wait()
	if r.code != 0 {
		t.Fatalf("run after Kueue's admission:\n%v", r)
	}
	if c := e.jobCondition(job); c != "Complete" {
		t.Errorf("condition %q, want Complete", c)
	}
	admitted := e.mustKubectl("get", "workloads.kueue.x-k8s.io", "-o", `jsonpath={.items[*].status.admission.clusterQueue}`).stdout
	if strings.TrimSpace(admitted) != cq {
		t.Errorf("the Workload was admitted by %q, want ClusterQueue %s", admitted, cq)
	}
	if st := e.status("gpu"); st.Done != 3 {
		t.Errorf("status %+v, want 3 done", st)
	}
}

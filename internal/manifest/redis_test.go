package manifest

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

const testPassword = "s3cr3t-Pa55"

func mustRedis(t *testing.T, o RedisOptions) *RedisObjects {
	t.Helper()
	r, err := Redis(o)
	if err != nil {
		t.Fatalf("Redis(%+v): %v", o, err)
	}
	return r
}

func TestRedisGolden(t *testing.T) {
	for name, o := range map[string]RedisOptions{
		"redis-password": {Namespace: "work", Password: testPassword},
		"redis-no-auth":  {Namespace: "work"},
		"redis-tls": {Namespace: "work", Password: testPassword,
			TLS: &RedisTLS{CACert: []byte("CA CERTIFICATE"), Cert: []byte("SERVER CERTIFICATE"), Key: []byte("SERVER KEY")}},
		"redis-pvc": {
			Namespace: "work", Name: "queue-redis", Password: testPassword,
			Storage: "1Gi", StorageClass: "fast-ssd", Labels: map[string]string{"team": "data"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			assertGolden(t, name, mustRedis(t, o).Objects()...)
		})
	}
}

func TestRedisDefaults(t *testing.T) {
	r := mustRedis(t, RedisOptions{})
	if r.Secret != nil || r.PVC != nil {
		t.Errorf("without password and storage want no Secret and no PVC, got %v, %v", r.Secret, r.PVC)
	}
	if r.Service.Name != "redis" || r.Deployment.Name != "redis" {
		t.Errorf("names = %q, %q; want redis", r.Service.Name, r.Deployment.Name)
	}
	if r.Service.Namespace != "" {
		t.Errorf("namespace = %q, want unset", r.Service.Namespace)
	}
	c := r.Deployment.Spec.Template.Spec.Containers[0]
	if c.Image != DefaultRedisImage {
		t.Errorf("image = %q, want %q", c.Image, DefaultRedisImage)
	}
	if got := r.Deployment.Spec.Template.Spec.Volumes[0].EmptyDir; got == nil {
		t.Errorf("data volume = %+v, want an emptyDir", r.Deployment.Spec.Template.Spec.Volumes[0])
	}
	// Durable: every write appended and flushed each second; full rather
	// than evicting, below the container's limit (80% of 512Mi).
	wantArgs := []string{"--appendonly", "yes", "--appendfsync", "everysec", "--dir", "/data", "--port", "6379",
		"--protected-mode", "no", "--save", "", "--maxmemory", "429496729", "--maxmemory-policy", "noeviction"}
	if !reflect.DeepEqual(c.Args, wantArgs) {
		t.Errorf("args = %q, want %q", c.Args, wantArgs)
	}
	if got := c.Resources.Limits.Memory().String(); got != "512Mi" {
		t.Errorf("memory limit = %s, want 512Mi", got)
	}
	if len(c.Env) != 0 || len(c.VolumeMounts) != 1 {
		t.Errorf("env = %v, mounts = %v: want no password file without a password", c.Env, c.VolumeMounts)
	}
}

// --appendfsync always: Redis flushes its file before it answers a write,
// so that a node crash loses nothing it acknowledged.
func TestRedisAppendfsyncAlways(t *testing.T) {
	c := mustRedis(t, RedisOptions{Appendfsync: FsyncAlways}).Deployment.Spec.Template.Spec.Containers[0]
	i := slices.Index(c.Args, "--appendfsync")
	if i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != "always" || slices.Index(c.Args[i+1:], "--appendfsync") >= 0 {
		t.Errorf("args = %q, want --appendfsync always once", c.Args)
	}
}

// --memory sets the container's limit and Redis' maxmemory below it.
func TestRedisMemory(t *testing.T) {
	for memory, maxmemory := range map[string]string{"1Gi": "858993459", "100M": "80000000", "32Mi": "26843545"} {
		c := mustRedis(t, RedisOptions{Memory: memory}).Deployment.Spec.Template.Spec.Containers[0]
		if got := c.Resources.Limits.Memory().String(); got != memory {
			t.Errorf("--memory %s: limit %s", memory, got)
		}
		if i := slices.Index(c.Args, "--maxmemory"); i < 0 || c.Args[i+1] != maxmemory {
			t.Errorf("--memory %s: args %q, want --maxmemory %s", memory, c.Args, maxmemory)
		}
	}
}

// The password reaches Redis through a configuration file in the Secret,
// which Redis reads as it should, whatever the password's bytes.
func TestRedisConfigFileSetsThePassword(t *testing.T) {
	for _, password := range []string{testPassword, `quo"te back\slash sp ace`, "tab\tnewline\nbyte\x01\xff"} {
		r := mustRedis(t, RedisOptions{Password: password})
		path := filepath.Join(t.TempDir(), RedisConfigKey)
		if err := os.WriteFile(path, r.Secret.Data[RedisConfigKey], 0o600); err != nil {
			t.Fatal(err)
		}
		// The pod passes the file as redis-server's first argument; the
		// test server takes its own arguments first, so include it.
		addr := redistest.Start(t, "--include", path)
		rdb := redis.NewClient(&redis.Options{Addr: addr, Password: password})
		err := rdb.Ping(context.Background()).Err()
		rdb.Close()
		if err != nil {
			t.Errorf("password %q: %v", password, err)
		}
		noAuth := redis.NewClient(&redis.Options{Addr: addr})
		if err := noAuth.Ping(context.Background()).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
			t.Errorf("password %q: without it PING = %v, want NOAUTH", password, err)
		}
		noAuth.Close()
	}
}

func TestRedisObjectsOrderAndTypes(t *testing.T) {
	for _, tc := range []struct {
		o    RedisOptions
		want []string
	}{
		{RedisOptions{}, []string{"v1/Service", "apps/v1/Deployment"}},
		{RedisOptions{Password: "p"}, []string{"v1/Secret", "v1/Service", "apps/v1/Deployment"}},
		{RedisOptions{Password: "p", Storage: "2Gi"}, []string{"v1/Secret", "v1/PersistentVolumeClaim", "v1/Service", "apps/v1/Deployment"}},
	} {
		var got []string
		for _, obj := range mustRedis(t, tc.o).Objects() {
			gvk := obj.GetObjectKind().GroupVersionKind()
			got = append(got, strings.TrimPrefix(gvk.GroupVersion().String()+"/"+gvk.Kind, "/"))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Objects() of %+v = %v, want %v", tc.o, got, tc.want)
		}
	}
}

func TestRedisWiring(t *testing.T) {
	r := mustRedis(t, RedisOptions{
		Namespace: "ns", Name: "q", Password: testPassword, Storage: "1Gi",
		Labels: map[string]string{"team": "data"},
	})
	d := r.Deployment
	pod := d.Spec.Template
	podLabels := labels.Set(pod.Labels)

	// Every object carries our labels and the user's.
	want := map[string]string{LabelManagedBy: ManagedByValue, LabelName: "redis", LabelInstance: "q", "team": "data"}
	for _, m := range []metav1.Object{r.Secret, r.PVC, r.Service, d, &pod} {
		if !reflect.DeepEqual(m.GetLabels(), want) {
			t.Errorf("%T %q labels = %v, want %v", m, m.GetName(), m.GetLabels(), want)
		}
	}
	for _, m := range []metav1.Object{r.Secret, r.PVC, r.Service, d} {
		if m.GetNamespace() != "ns" {
			t.Errorf("%T namespace = %q", m, m.GetNamespace())
		}
	}

	// The Service and the Deployment select the pod, and only by name/instance.
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(podLabels) {
		t.Errorf("deployment selector %v does not match pod labels %v (%v)", d.Spec.Selector, pod.Labels, err)
	}
	if !labels.SelectorFromSet(r.Service.Spec.Selector).Matches(podLabels) {
		t.Errorf("service selector %v does not match pod labels %v", r.Service.Spec.Selector, pod.Labels)
	}
	if want := map[string]string{LabelName: "redis", LabelInstance: "q"}; !reflect.DeepEqual(r.Service.Spec.Selector, want) {
		t.Errorf("service selector = %v, want %v", r.Service.Spec.Selector, want)
	}

	// One writer.
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
		t.Errorf("replicas %d strategy %q, want 1 Recreate", *d.Spec.Replicas, d.Spec.Strategy.Type)
	}

	// The Service reaches the container port.
	c := pod.Spec.Containers[0]
	sp := r.Service.Spec.Ports
	if len(sp) != 1 || sp[0].Name != "redis" || sp[0].Port != 6379 || sp[0].TargetPort.IntValue() != 6379 {
		t.Errorf("service ports = %+v", sp)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 6379 || c.Ports[0].Name != "redis" {
		t.Errorf("container ports = %+v", c.Ports)
	}
	if p := c.ReadinessProbe; p == nil || p.TCPSocket == nil || p.TCPSocket.Port.IntValue() != 6379 {
		t.Errorf("readiness probe = %+v, want TCP 6379", p)
	}

	if !reflect.DeepEqual(c.Command, []string{"redis-server"}) {
		t.Errorf("command = %q", c.Command)
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy = %q", c.ImagePullPolicy)
	}
	for name, q := range map[string]resource.Quantity{"cpu": c.Resources.Requests.Cpu().DeepCopy(), "memory": c.Resources.Requests.Memory().DeepCopy()} {
		if q.IsZero() {
			t.Errorf("no %s request", name)
		}
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Error("no memory limit")
	}

	// The password comes from the Secret, in a configuration file that is
	// redis-server's first argument: in no argv, no environment.
	if r.Secret.Name != PasswordSecretName("q") || string(r.Secret.Data[PasswordSecretKey]) != testPassword || r.Secret.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret = %+v", r.Secret)
	}
	if len(c.Args) == 0 || c.Args[0] != RedisConfigFile {
		t.Errorf("args = %q, want the configuration file %s first", c.Args, RedisConfigFile)
	}
	if len(c.Env) != 0 {
		t.Errorf("env = %+v, want none", c.Env)
	}
	for _, obj := range []runtime.Object{r.Service, r.Deployment, r.PVC} {
		if strings.Contains(toYAML(t, obj), testPassword) {
			t.Errorf("%T contains the password", obj)
		}
	}
	cv := pod.Spec.Volumes[1]
	if cv.Secret == nil || cv.Secret.SecretName != r.Secret.Name || len(cv.Secret.Items) != 1 || cv.Secret.Items[0].Key != RedisConfigKey {
		t.Errorf("volume = %+v, want the Secret's %s", cv, RedisConfigKey)
	}

	// The data volume is the claim, mounted where Redis writes; the
	// configuration file where Redis reads it.
	v := pod.Spec.Volumes[0]
	if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != r.PVC.Name {
		t.Errorf("volume = %+v, want claim %q", v, r.PVC.Name)
	}
	if len(c.VolumeMounts) != 2 || c.VolumeMounts[0].Name != v.Name || c.VolumeMounts[0].MountPath != "/data" ||
		c.VolumeMounts[1].Name != cv.Name || c.VolumeMounts[1].MountPath+"/"+RedisConfigKey != RedisConfigFile || !c.VolumeMounts[1].ReadOnly {
		t.Errorf("mounts = %+v", c.VolumeMounts)
	}
	if got := r.PVC.Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != "1Gi" {
		t.Errorf("pvc size = %s", got.String())
	}
	if r.PVC.Spec.StorageClassName != nil {
		t.Errorf("storageClassName = %q, want unset", *r.PVC.Spec.StorageClassName)
	}
}

func TestRedisStorageClass(t *testing.T) {
	r := mustRedis(t, RedisOptions{Storage: "500Mi", StorageClass: "fast"})
	if sc := r.PVC.Spec.StorageClassName; sc == nil || *sc != "fast" {
		t.Errorf("storageClassName = %v, want fast", sc)
	}
	if r.PVC.Name != RedisDataClaimName("redis") {
		t.Errorf("pvc name = %q", r.PVC.Name)
	}
}

func TestRedisValidation(t *testing.T) {
	for _, tc := range []struct {
		o     RedisOptions
		field string
		want  string
	}{
		{RedisOptions{Name: "Foo"}, "name", `name "Foo": `},
		{RedisOptions{Name: "1redis"}, "name", `name "1redis": `},
		{RedisOptions{Name: "re.dis"}, "name", `name "re.dis": `},
		{RedisOptions{Name: strings.Repeat("r", 64)}, "name", `name "rrrr`},
		{RedisOptions{Namespace: "Work"}, "namespace", `namespace "Work": `},
		{RedisOptions{Storage: "lots"}, "storage", `storage "lots": must be a size`},
		{RedisOptions{Storage: "0"}, "storage", `storage "0": must be greater than zero`},
		{RedisOptions{Storage: "-1Gi"}, "storage", `storage "-1Gi": must be greater than zero`},
		{RedisOptions{StorageClass: "fast"}, "storageClass", `storageClass needs storage`},
		{RedisOptions{Storage: "1Gi", StorageClass: "Fast_SSD"}, "storageClass", `storageClass "Fast_SSD": `},
		{RedisOptions{Memory: "plenty"}, "memory", `memory "plenty": must be a size such as 512Mi`},
		{RedisOptions{Memory: "0"}, "memory", `memory "0": must be at least 32Mi`},
		{RedisOptions{Memory: "16Mi"}, "memory", `memory "16Mi": must be at least 32Mi`},
		{RedisOptions{Appendfsync: "no"}, "appendfsync", `appendfsync "no": must be "everysec" or "always"`},
		{RedisOptions{Labels: map[string]string{LabelInstance: "x"}}, "labels", `labels "app.kubernetes.io/instance": is set by kubectl-workqueue`},
		{RedisOptions{Labels: map[string]string{LabelManagedBy: "me"}}, "labels", `labels "app.kubernetes.io/managed-by": is set by kubectl-workqueue`},
		{RedisOptions{Labels: map[string]string{"bad key": "x"}}, "labels", `labels "bad key": invalid label key`},
		{RedisOptions{Labels: map[string]string{"k": "bad value"}}, "labels", `labels "k=bad value": invalid label value`},
	} {
		r, err := Redis(tc.o)
		if e := fieldError(t, err, tc.field); !strings.Contains(e.Error(), tc.want) {
			t.Errorf("Redis(%+v) error = %v, want it to contain %q", tc.o, e, tc.want)
		}
		if r != nil {
			t.Errorf("Redis(%+v) returned objects with an error", tc.o)
		}
	}
}

func TestRedisSharesNoMemory(t *testing.T) {
	userLabels := map[string]string{"team": "data"}
	r := mustRedis(t, RedisOptions{Password: "p", Storage: "1Gi", Labels: userLabels})
	userLabels["team"] = "changed"
	r.Service.Labels["mutated"] = "yes"
	r.Service.Spec.Selector["mutated"] = "yes"
	if got := toYAML(t, r.Secret, r.PVC, r.Deployment); strings.Contains(got, "changed") || strings.Contains(got, "mutated") {
		t.Errorf("objects share label maps with each other or with the options:\n%s", got)
	}
}

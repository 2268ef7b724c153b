package manifest

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
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
	wantArgs := []string{"--appendonly", "yes", "--dir", "/data", "--port", "6379", "--protected-mode", "no", "--save", ""}
	if !reflect.DeepEqual(c.Args, wantArgs) {
		t.Errorf("args = %q, want %q", c.Args, wantArgs)
	}
	if len(c.Env) != 0 {
		t.Errorf("env = %v, want none without a password", c.Env)
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

	// The password comes from the Secret, through $(REDIS_PASSWORD).
	if r.Secret.Name != PasswordSecretName("q") || string(r.Secret.Data[PasswordSecretKey]) != testPassword || r.Secret.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret = %+v", r.Secret)
	}
	n := len(c.Args)
	if n < 2 || c.Args[n-2] != "--requirepass" || c.Args[n-1] != "$(REDIS_PASSWORD)" {
		t.Errorf("args = %q, want to end with --requirepass $(REDIS_PASSWORD)", c.Args)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "REDIS_PASSWORD" || c.Env[0].Value != "" || c.Env[0].ValueFrom == nil ||
		c.Env[0].ValueFrom.SecretKeyRef.Name != r.Secret.Name || c.Env[0].ValueFrom.SecretKeyRef.Key != PasswordSecretKey {
		t.Errorf("env = %+v, want REDIS_PASSWORD from the Secret", c.Env)
	}
	for _, obj := range []runtime.Object{r.Service, r.Deployment, r.PVC} {
		if strings.Contains(toYAML(t, obj), testPassword) {
			t.Errorf("%T contains the password", obj)
		}
	}

	// The data volume is the claim, mounted where Redis writes.
	v := pod.Spec.Volumes[0]
	if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != r.PVC.Name {
		t.Errorf("volume = %+v, want claim %q", v, r.PVC.Name)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != v.Name || c.VolumeMounts[0].MountPath != "/data" {
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

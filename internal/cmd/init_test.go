package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

// unreachableCluster points kubectl's loading rules at a kubeconfig whose API
// server fails the test on any request, and returns how many it got.
func unreachableCluster(t *testing.T) *atomic.Int32 {
	t.Helper()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		t.Errorf("the cluster was contacted: %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: from-kubeconfig}}]
current-context: c
`, srv.URL)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", path)
	return &requests
}

// runInit runs `kubectl workqueue -n ns init ARGS...` against kube.
func runInit(t *testing.T, kube *fake.Clientset, args ...string) result {
	t.Helper()
	unreachableCluster(t)
	return runKube(t, kube, append([]string{"-n", "ns", "init"}, args...)...)
}

// readyWhenDeployed plays the Deployment controller and the kubelet: when a
// Deployment appears or changes, it creates a ready pod from its template and
// marks the rollout complete. It reacts to a watch, so tests need no sleeps.
func readyWhenDeployed(t *testing.T, kube *fake.Clientset, ns string) {
	t.Helper()
	ctx := context.Background()
	w, err := kube.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { w.Stop(); <-done })
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || ev.Type == watch.Deleted || d.Status.AvailableReplicas == 1 {
				continue
			}
			pod := podFromTemplate(d, d.Name+"-ready")
			pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
			if _, err := kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Error(err)
			}
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
			if _, err := kube.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}
	}()
}

func podFromTemplate(d *appsv1.Deployment, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.Namespace, Labels: d.Spec.Template.Labels},
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
	}
}

// redisPod is a pod of the default Redis Deployment, in namespace ns, as
// mutate leaves it.
func redisPod(t *testing.T, name string, mutate func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	objs := testRedisObjects(t, manifest.RedisOptions{Namespace: "ns", Password: "unused"})
	p := podFromTemplate(objs.Deployment, name)
	p.Status.Phase = corev1.PodPending
	mutate(p)
	return p
}

// mustGet gets the object name with get, a typed client's Get.
func mustGet[T any](t *testing.T, get func(context.Context, string, metav1.GetOptions) (T, error), name string) T {
	t.Helper()
	obj, err := get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

var alnum32 = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

func TestInitDeploysRedisWaitsForItAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	readyWhenDeployed(t, kube, "ns")

	r := runInit(t, kube)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	wantPrefix := "secret/redis-auth created\nservice/redis created\ndeployment.apps/redis created\nRedis is ready (pod redis-ready)."
	if !strings.HasPrefix(r.out, wantPrefix) || !strings.Contains(r.out, "kubectl workqueue seed -n ns QUEUE") {
		t.Fatalf("stdout:\n%s\nwant it to start with:\n%s", r.out, wantPrefix)
	}

	secret := mustGet(t, kube.CoreV1().Secrets("ns").Get, "redis-auth")
	password := string(secret.Data[manifest.PasswordSecretKey])
	if !alnum32.MatchString(password) {
		t.Fatalf("password %q: want 32 random letters and digits", password)
	}
	svc := mustGet(t, kube.CoreV1().Services("ns").Get, "redis")
	if svc.Spec.Ports[0].Port != manifest.RedisPort {
		t.Fatalf("service ports %+v", svc.Spec.Ports)
	}
	if string(secret.Data[manifest.RedisConfigKey]) != "requirepass \""+password+"\"\n" {
		t.Fatalf("configuration file %q", secret.Data[manifest.RedisConfigKey])
	}
	d := mustGet(t, kube.AppsV1().Deployments("ns").Get, "redis")
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != manifest.DefaultRedisImage || c.Args[0] != manifest.RedisConfigFile || strings.Contains(strings.Join(c.Args, " "), password) {
		t.Fatalf("container image %s args %q", c.Image, c.Args)
	}
	if m := d.ManagedFields; len(m) == 0 || m[0].Manager != manifest.FieldManager || m[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("not server-side applied by %s: %+v", manifest.FieldManager, m)
	}
	// The fake cluster has no default StorageClass.
	if _, err := kube.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "redis-data", metav1.GetOptions{}); err == nil {
		t.Fatal("a claim without a default StorageClass")
	}
	if !strings.Contains(r.errOut, "Warning: the cluster has no default StorageClass") || !strings.Contains(r.errOut, "--storage-class NAME") {
		t.Fatalf("no word of the emptyDir: %s", r.errOut)
	}

	// Again: nothing changes, the password stays, and init says so.
	r = runInit(t, kube)
	if r.err != nil {
		t.Fatalf("second run: %v\n%s", r.err, r.errOut)
	}
	if want := "secret/redis-auth unchanged\nservice/redis unchanged\ndeployment.apps/redis unchanged\nRedis is ready (pod redis-ready)."; !strings.HasPrefix(r.out, want) {
		t.Fatalf("second run stdout:\n%s\nwant it to start with:\n%s", r.out, want)
	}
	if strings.Contains(r.errOut, "Waiting") {
		t.Fatalf("a ready Redis needs no waiting: %s", r.errOut)
	}
	secret = mustGet(t, kube.CoreV1().Secrets("ns").Get, "redis-auth")
	if got := string(secret.Data[manifest.PasswordSecretKey]); got != password {
		t.Fatalf("password rotated from %q to %q", password, got)
	}

	// A new image would replace the pod and lose the emptyDir's data: only
	// with --recreate.
	r = runInit(t, kube, "--image", "redis:8")
	if r.err == nil || !strings.Contains(r.err.Error(), "pass --recreate") {
		t.Fatalf("new image without --recreate: %v\n%s", r.err, r.errOut)
	}
	if d := mustGet(t, kube.AppsV1().Deployments("ns").Get, "redis"); d.Spec.Template.Spec.Containers[0].Image != manifest.DefaultRedisImage {
		t.Fatalf("the refused init changed the image to %s", d.Spec.Template.Spec.Containers[0].Image)
	}
	r = runInit(t, kube, "--image", "redis:8", "--recreate")
	if r.err != nil {
		t.Fatalf("new image: %v\n%s", r.err, r.errOut)
	}
	if !strings.Contains(r.out, "secret/redis-auth unchanged\nservice/redis unchanged\ndeployment.apps/redis configured\n") ||
		!strings.Contains(r.errOut, "queues it held are lost") {
		t.Fatalf("new image:\nstdout: %s\nstderr: %s", r.out, r.errOut)
	}
}

// A rerun of init keeps --appendfsync always unless told otherwise: a
// forgotten flag must not make a node crash lose writes again.
func TestInitKeepsTheAppendfsyncOfTheRunningRedis(t *testing.T) {
	kube := fake.NewClientset()
	readyWhenDeployed(t, kube, "ns")
	policy := func() string {
		return appendfsyncOf(mustGet(t, kube.AppsV1().Deployments("ns").Get, "redis"))
	}
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"--appendfsync", "always"}, "always"},
		{nil, "always"},
		{[]string{"--memory", "1Gi"}, "always"},
		{[]string{"--appendfsync", "everysec"}, "everysec"},
		{nil, "everysec"},
	} {
		r := runInit(t, kube, append([]string{"--wait=false", "--recreate"}, step.args...)...)
		if r.err != nil || policy() != step.want {
			t.Fatalf("init %q: %v, appendfsync %q, want %q\n%s", step.args, r.err, policy(), step.want, r.errOut)
		}
	}
}

func TestInitKeepsThePasswordOfAnExistingSecret(t *testing.T) {
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "queues-auth", Namespace: "ns"},
		Data:       map[string][]byte{manifest.PasswordSecretKey: []byte("made-by-hand")},
	})
	readyWhenDeployed(t, kube, "ns")
	r := runInit(t, kube, "--redis-service", "queues", "--wait=false")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if !strings.HasPrefix(r.out, "secret/queues-auth configured\nservice/queues created\ndeployment.apps/queues created\nRedis is starting") {
		t.Fatalf("stdout:\n%s", r.out)
	}
	secret := mustGet(t, kube.CoreV1().Secrets("ns").Get, "queues-auth")
	if got := string(secret.Data[manifest.PasswordSecretKey]); got != "made-by-hand" {
		t.Fatalf("password %q", got)
	}
}

func TestInitNoAuth(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	readyWhenDeployed(t, kube, "ns")
	r := runInit(t, kube, "--no-auth")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if !strings.HasPrefix(r.out, "service/redis created\ndeployment.apps/redis created\n") {
		t.Fatalf("stdout:\n%s", r.out)
	}
	if s, err := kube.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{}); err != nil || len(s.Items) != 0 {
		t.Fatalf("secrets %v %v", s, err)
	}
	c := mustGet(t, kube.AppsV1().Deployments("ns").Get, "redis").Spec.Template.Spec.Containers[0]
	if strings.Contains(strings.Join(c.Args, " "), "requirepass") || len(c.Env) != 0 {
		t.Fatalf("--no-auth Redis asks for a password: args %q env %+v", c.Args, c.Env)
	}
}

func TestInitNoAuthRefusesToDropAnExistingPassword(t *testing.T) {
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "redis-auth", Namespace: "ns"},
		Data:       map[string][]byte{manifest.PasswordSecretKey: []byte("pw")},
	})
	kube.ClearActions()
	r := runInit(t, kube, "--no-auth")
	if r.err == nil || !strings.Contains(r.err.Error(), "secret/redis-auth exists") ||
		!strings.Contains(r.err.Error(), "kubectl delete secret redis-auth -n ns") || !strings.Contains(r.err.Error(), "drop --no-auth") {
		t.Fatalf("err %v", r.err)
	}
	for _, a := range kube.Actions() {
		if a.GetVerb() != "get" {
			t.Fatalf("refusing init changed something: %v", a)
		}
	}
}

func TestInitDryRunClientPrintsTheManifestsWithoutContactingTheCluster(t *testing.T) {
	requests := unreachableCluster(t)
	f := newFactory() // no fake: a client, if made, would go to the unreachable server
	r := runWith(t, context.Background(), f, "", "init", "--dry-run=client", "-o", "yaml", "--storage", "1Gi", "--storage-class", "fast")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if requests.Load() != 0 {
		t.Fatal("--dry-run=client contacted the cluster")
	}
	var kinds []string
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(r.out), 4096)
	for {
		var raw runtime.RawExtension
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%v\n%s", err, r.out)
		}
		obj, gvk, err := kubescheme.Codecs.UniversalDeserializer().Decode(bytes.TrimSpace(raw.Raw), nil, nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, raw.Raw)
		}
		kinds = append(kinds, gvk.Kind)
		switch o := obj.(type) {
		case *corev1.Secret:
			if !alnum32.MatchString(string(o.Data[manifest.PasswordSecretKey])) {
				t.Errorf("secret data %q", o.Data)
			}
		case *corev1.PersistentVolumeClaim:
			if *o.Spec.StorageClassName != "fast" || o.Spec.Resources.Requests.Storage().String() != "1Gi" {
				t.Errorf("claim %+v", o.Spec)
			}
		}
		if m, _ := objectMeta(obj); m.Namespace != "" {
			t.Errorf("%s has namespace %q: without -n the manifests name none, as kubectl create's", gvk.Kind, m.Namespace)
		}
	}
	if strings.Join(kinds, ",") != "Secret,PersistentVolumeClaim,Service,Deployment" {
		t.Fatalf("kinds %v in:\n%s", kinds, r.out)
	}
}

func objectMeta(obj runtime.Object) (metav1.ObjectMeta, bool) {
	switch o := obj.(type) {
	case *corev1.Secret:
		return o.ObjectMeta, true
	case *corev1.PersistentVolumeClaim:
		return o.ObjectMeta, true
	case *corev1.Service:
		return o.ObjectMeta, true
	case *appsv1.Deployment:
		return o.ObjectMeta, true
	}
	return metav1.ObjectMeta{}, false
}

func TestInitDryRunClientWithNoKubeconfigAtAll(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("HOME", t.TempDir())
	r := runWith(t, context.Background(), newFactory(), "", "-n", "team", "init", "--dry-run=client", "--no-auth")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if r.out != "persistentvolumeclaim/redis-data created (dry run)\nservice/redis created (dry run)\ndeployment.apps/redis created (dry run)\n" {
		t.Fatalf("stdout %q", r.out)
	}
	r = runWith(t, context.Background(), newFactory(), "", "-n", "team", "init", "--dry-run=client", "-o", "json")
	if r.err != nil || !strings.Contains(r.out, `"kind": "List"`) || !strings.Contains(r.out, `"namespace": "team"`) {
		t.Fatalf("-o json: %v\n%s", r.err, r.out)
	}
}

func TestInitDryRunServerSavesNothing(t *testing.T) {
	kube := fake.NewClientset()
	// The fake's tracker ignores dryRun: answer as the API server would.
	kube.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if len(p.PatchOptions.DryRun) == 0 {
			t.Errorf("%s patched without dry run", p.GetResource().Resource)
		}
		obj, _, err := kubescheme.Codecs.UniversalDeserializer().Decode(p.GetPatch(), nil, nil)
		return true, obj, err
	})
	kube.ClearActions()
	r := runInit(t, kube, "--dry-run=server")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	want := "secret/redis-auth created (server dry run)\nservice/redis created (server dry run)\ndeployment.apps/redis created (server dry run)\n"
	if r.out != want {
		t.Fatalf("stdout %q, want %q", r.out, want)
	}
	for _, a := range kube.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "patch" {
			t.Fatalf("dry run did %v", a)
		}
	}
}

func TestInitOutputNameKeepsStdoutForNames(t *testing.T) {
	kube := fake.NewClientset()
	readyWhenDeployed(t, kube, "ns")
	r := runInit(t, kube, "-o", "name")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if r.out != "secret/redis-auth\nservice/redis\ndeployment.apps/redis\n" || !strings.Contains(r.errOut, "Redis is ready") {
		t.Fatalf("stdout %q\nstderr %q", r.out, r.errOut)
	}
}

// An image that cannot be pulled fails init at once, from the first
// ErrImagePull on, as it fails wait (podstatus: Fatal).
func TestInitFailsFastWhenThePodCannotPullItsImage(t *testing.T) {
	for _, reason := range []string{"ErrImagePull", "ImagePullBackOff"} {
		t.Run(reason, func(t *testing.T) {
			kube := fake.NewClientset(redisPod(t, "redis-abc", func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "redis", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
					Reason: reason, Message: `Back-off pulling image "docker.io/library/redis:7.4.2"`,
				}}}}
			}))
			r := runInit(t, kube, "--timeout", "1h")
			if r.err == nil {
				t.Fatal("no error")
			}
			for _, want := range []string{"Redis cannot start: pod redis-abc", reason, "Back-off pulling image", "kubectl describe pod redis-abc -n ns"} {
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("error %q lacks %q", r.err, want)
				}
			}
		})
	}
}

func TestInitTimeoutNamesThePodAndWhyItIsNotReady(t *testing.T) {
	kube := fake.NewClientset(redisPod(t, "redis-xyz", func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory."}}
	}))
	r := runInit(t, kube, "--timeout", "50ms")
	if r.err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"timed out after 50ms", "deployment/redis", "pod redis-xyz", "Unschedulable: 0/1 nodes are available", "kubectl describe pod redis-xyz -n ns"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q lacks %q", r.err, want)
		}
	}
}

func TestInitTimeoutWithNoPod(t *testing.T) {
	r := runInit(t, fake.NewClientset(), "--timeout", "10ms")
	if r.err == nil || !strings.Contains(r.err.Error(), "no pod of it exists") || !strings.Contains(r.err.Error(), "kubectl describe deployment redis -n ns") {
		t.Fatalf("err %v", r.err)
	}
}

func TestInitReportsConflictsAndForcesThemOnRequest(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	readyWhenDeployed(t, kube, "ns")
	if r := runInit(t, kube); r.err != nil {
		t.Fatal(r.err)
	}
	force := true
	if _, err := kube.AppsV1().Deployments("ns").Patch(ctx, "redis", types.ApplyPatchType,
		[]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"redis"},"spec":{"replicas":2}}`),
		metav1.PatchOptions{FieldManager: "kubectl-scale", Force: &force}); err != nil {
		t.Fatal(err)
	}
	r := runInit(t, kube)
	if r.err == nil || !strings.Contains(r.err.Error(), "kubectl-scale") || !strings.Contains(r.err.Error(), "--force-conflicts") {
		t.Fatalf("err %v", r.err)
	}
	if r = runInit(t, kube, "--force-conflicts", "--wait=false"); r.err != nil {
		t.Fatal(r.err)
	}
	if d := mustGet(t, kube.AppsV1().Deployments("ns").Get, "redis"); *d.Spec.Replicas != 1 {
		t.Fatalf("replicas %d", *d.Spec.Replicas)
	}
}

// defaultClass is a StorageClass that the cluster uses for claims without one.
func defaultClass(name string) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "example.com/disk",
	}
}

// claimOf is what init's Deployment keeps its data on: the claim's name and
// size, or "emptyDir".
func claimOf(t *testing.T, kube *fake.Clientset) string {
	t.Helper()
	d := mustGet(t, kube.AppsV1().Deployments("ns").Get, "redis")
	name := dataVolume(d)
	if name == "" {
		return "emptyDir"
	}
	pvc := mustGet(t, kube.CoreV1().PersistentVolumeClaims("ns").Get, name)
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = " " + *pvc.Spec.StorageClassName
	}
	return name + " " + pvc.Spec.Resources.Requests.Storage().String() + class
}

// By default Redis' data is on a claim when the cluster can provision one,
// and stays where it is on every rerun unless a flag moves it.
func TestInitStorage(t *testing.T) {
	type step struct {
		args    []string
		want    string // claimOf afterwards
		err     string // in the error, if it fails
		message string // on stderr
	}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		steps   []step
	}{
		{"a default StorageClass", []runtime.Object{defaultClass("standard")}, []step{
			{args: nil, want: "redis-data 1Gi"},
			{args: nil, want: "redis-data 1Gi"},
			{args: []string{"--storage", "2Gi"}, want: "redis-data 2Gi"},
			{args: nil, want: "redis-data 2Gi"},
			{args: []string{"--ephemeral"}, err: "--ephemeral: deployment/redis keeps its data on persistentvolumeclaim/redis-data"},
		}},
		{"no default StorageClass", nil, []step{
			{args: []string{"--storage", "1Gi"}, err: "no default StorageClass, so the claim would never be bound: name one with --storage-class"},
			{args: nil, want: "emptyDir", message: "Warning: the cluster has no default StorageClass"},
			{args: nil, want: "emptyDir", message: "init -n ns --storage 1Gi --recreate"},
			{args: []string{"--storage-class", "fast"}, err: "pass --recreate"},
			{args: []string{"--storage-class", "fast", "--recreate"}, want: "redis-data 1Gi fast", message: "queues it held are lost"},
			{args: []string{"--storage-class", "other"}, err: `persistentvolumeclaim/redis-data has storage class "fast", which cannot change`},
		}},
		{"--ephemeral on purpose", []runtime.Object{defaultClass("standard")}, []step{
			{args: []string{"--ephemeral"}, want: "emptyDir", message: "Note: Redis keeps its data in an emptyDir (--ephemeral)"},
			// A default claim now would move the data: only when asked to.
			{args: nil, want: "emptyDir", message: "--recreate"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset(tc.objects...)
			readyWhenDeployed(t, kube, "ns")
			for i, s := range tc.steps {
				r := runInit(t, kube, s.args...)
				switch {
				case s.err != "":
					if r.err == nil || !strings.Contains(r.err.Error(), s.err) {
						t.Fatalf("step %d, init %q: error %v, want %q", i, s.args, r.err, s.err)
					}
					continue
				case r.err != nil:
					t.Fatalf("step %d, init %q: %v\n%s", i, s.args, r.err, r.errOut)
				}
				if got := claimOf(t, kube); got != s.want {
					t.Fatalf("step %d, init %q: data on %s, want %s\n%s", i, s.args, got, s.want, r.errOut)
				}
				if !strings.Contains(r.errOut, s.message) {
					t.Fatalf("step %d, init %q: stderr lacks %q:\n%s", i, s.args, s.message, r.errOut)
				}
			}
		})
	}
}

// A user who may not read StorageClasses (a Role in one namespace) still
// gets a claim when the cluster has a default class: the API server's dry
// run of the claim tells.
func TestInitFindsTheDefaultStorageClassWithoutReadingStorageClasses(t *testing.T) {
	kube := fake.NewClientset()
	kube.PrependReactor("list", "storageclasses", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(storagev1.Resource("storageclasses"), "", errors.New("no"))
	})
	kube.PrependReactor("patch", "persistentvolumeclaims", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if len(p.PatchOptions.DryRun) == 0 {
			return false, nil, nil
		}
		obj, _, err := kubescheme.Codecs.UniversalDeserializer().Decode(p.GetPatch(), nil, nil)
		if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok {
			pvc.Spec.StorageClassName = ptr.To("standard") // what DefaultStorageClass admission does
		}
		return true, obj, err
	})
	readyWhenDeployed(t, kube, "ns")
	r := runInit(t, kube)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if got := claimOf(t, kube); got != "redis-data 1Gi" {
		t.Fatalf("data on %s\n%s", got, r.errOut)
	}
}

func TestInitFlagErrorsNameTheFlagAndChangeNothing(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--storage", "lots"}, `--storage "lots"`},
		{[]string{"--storage", "-1Gi"}, "greater than zero"},
		{[]string{"--storage", "0"}, `--storage "0": must be greater than zero`},
		{[]string{"--ephemeral", "--storage", "1Gi"}, "--ephemeral keeps Redis' data in an emptyDir, --storage and --storage-class on a claim: choose one"},
		{[]string{"--ephemeral", "--storage-class", "fast"}, "choose one"},
		{[]string{"--memory", "lots"}, `--memory "lots": must be a size such as 512Mi`},
		{[]string{"--memory", "1Mi"}, `--memory "1Mi": must be at least 32Mi`},
		{[]string{"--appendfsync", "no"}, `--appendfsync "no": must be "everysec" or "always"`},
		{[]string{"-o", "table"}, `-o: unable to match a printer suitable for the output format "table"`},
		{[]string{"--dry-run=maybe"}, `--dry-run "maybe"`},
		{[]string{"--timeout", "0s"}, "--timeout"},
		{[]string{"--redis-password-secret", "other"}, "--redis-password-secret"},
		{[]string{"--redis-password-secret", ":password"}, `--redis-password-secret ":password": want NAME or NAME:KEY`},
		{[]string{"extra"}, "unknown command"},
	} {
		kube := fake.NewClientset()
		r := runInit(t, kube, tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one with %s", tc.args, r.err, tc.want)
		}
		if len(kube.Actions()) != 0 {
			t.Errorf("%v: touched the cluster: %v", tc.args, kube.Actions())
		}
	}
}

func TestNewRedisPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p, err := newRedisPassword()
		if err != nil || !alnum32.MatchString(p) || seen[p] {
			t.Fatalf("%q %v", p, err)
		}
		seen[p] = true
	}
}

func TestInitInterruptedLeavesRedisStartingAndSaysHowToFollowIt(t *testing.T) {
	unreachableCluster(t)
	kube := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Ctrl-C once the Deployment exists.
	kube.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		cancel()
		return false, nil, nil
	})
	f := newFactory()
	f.kube = kube
	r := runWith(t, ctx, f, "", "-n", "ns", "init")
	if !errors.Is(r.err, ErrInterrupted) || !strings.Contains(r.errOut, "kubectl rollout status deployment/redis -n ns") {
		t.Fatalf("err %v\nstderr %s", r.err, r.errOut)
	}
}

// init --tls: a CA and a certificate for the Service's names, kept across
// runs; a Redis that speaks TLS only; and no quiet fallback to plain text.
func TestInitTLS(t *testing.T) {
	kube := fake.NewClientset()
	readyWhenDeployed(t, kube, "ns")
	r := runInit(t, kube, "--tls", "--wait=false")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if !strings.HasPrefix(r.out, "secret/redis-auth created\nsecret/redis-tls created\nsecret/redis-ca created\nservice/redis created\ndeployment.apps/redis created\n") {
		t.Fatalf("stdout:\n%s", r.out)
	}
	server := mustGet(t, kube.CoreV1().Secrets("ns").Get, manifest.TLSSecretName("redis"))
	ca := mustGet(t, kube.CoreV1().Secrets("ns").Get, manifest.CASecretName("redis"))
	if server.Type != corev1.SecretTypeTLS || len(ca.Data) != 1 || !bytes.Equal(ca.Data["ca.crt"], server.Data["ca.crt"]) {
		t.Fatalf("secrets: %s %v / %v", server.Type, keysOf(server.Data), keysOf(ca.Data))
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.Data["ca.crt"]) {
		t.Fatal("ca.crt holds no certificate")
	}
	pair, err := tls.X509KeyPair(server.Data["tls.crt"], server.Data["tls.key"])
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"redis", "redis.ns", "redis.ns.svc", "redis.ns.svc.cluster.local"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("the certificate does not serve %s: %v", name, err)
		}
	}
	args := strings.Join(mustGet(t, kube.AppsV1().Deployments("ns").Get, "redis").Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--port 0 ") || !strings.Contains(args, "--tls-port 6379") {
		t.Errorf("Redis args %q: want TLS only", args)
	}

	// Again: the same certificate, so clients keep trusting it.
	r = runInit(t, kube, "--tls", "--wait=false")
	if r.err != nil || !strings.Contains(r.out, "secret/redis-tls unchanged") || !strings.Contains(r.out, "secret/redis-ca unchanged") {
		t.Fatalf("again: %v\n%s", r.err, r.out)
	}
	// Without --tls: refused, since every client now speaks TLS to it.
	kube.ClearActions()
	r = runInit(t, kube, "--wait=false")
	if r.err == nil || !strings.Contains(r.err.Error(), "secret/redis-tls exists in namespace ns, so this Redis speaks TLS") ||
		!strings.Contains(r.err.Error(), "pass --tls to keep it") || !strings.Contains(r.err.Error(), "kubectl delete secret redis-tls redis-ca -n ns") {
		t.Fatalf("without --tls: %v", r.err)
	}
	for _, a := range kube.Actions() {
		if a.GetVerb() != "get" {
			t.Fatalf("refusing init changed something: %v", a)
		}
	}
}

func keysOf(m map[string][]byte) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

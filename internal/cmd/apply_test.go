package cmd

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

func testRedisObjects(t *testing.T, o manifest.RedisOptions) *manifest.RedisObjects {
	t.Helper()
	objs, err := manifest.Redis(o)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestApplyCreatesThenLeavesUnchangedThenConfigures(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	objs := testRedisObjects(t, manifest.RedisOptions{Namespace: "ns", Password: "pw", Storage: "1Gi"})

	for _, obj := range objs.Objects() {
		res, err := applyObject(ctx, kube, "ns", obj, applyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Op != opCreated || res.Before != nil {
			t.Fatalf("%s: first apply %s, want created", objectRef(obj), res.Op)
		}
		if res.Object.GetObjectKind().GroupVersionKind().Kind == "" {
			t.Fatalf("%s: result has no kind", objectRef(obj))
		}
	}
	d, err := kube.AppsV1().Deployments("ns").Get(ctx, "redis", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.ManagedFields) == 0 || d.ManagedFields[0].Manager != manifest.FieldManager || d.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("managed fields %+v, want an Apply entry of %s", d.ManagedFields, manifest.FieldManager)
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != manifest.DefaultRedisImage {
		t.Fatalf("image %q", got)
	}

	// A status written meanwhile (by the controller) is no change of ours.
	d.Status.ReadyReplicas = 1
	if _, err := kube.AppsV1().Deployments("ns").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs.Objects() {
		res, err := applyObject(ctx, kube, "ns", obj, applyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Op != opUnchanged {
			t.Fatalf("%s: second apply %s, want unchanged", objectRef(obj), res.Op)
		}
	}

	changed := testRedisObjects(t, manifest.RedisOptions{Namespace: "ns", Password: "pw", Storage: "1Gi", Image: "redis:8"})
	res, err := applyObject(ctx, kube, "ns", changed.Deployment, applyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Op != opConfigured {
		t.Fatalf("new image: %s, want configured", res.Op)
	}
	if got := res.Object.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image; got != "redis:8" {
		t.Fatalf("image after apply %q", got)
	}
}

func TestApplyReportsConflictsUnlessForced(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	objs := testRedisObjects(t, manifest.RedisOptions{Namespace: "ns", Password: "pw"})
	if _, err := applyObject(ctx, kube, "ns", objs.Deployment, applyOptions{}); err != nil {
		t.Fatal(err)
	}
	// Someone scales Redis by hand, with another field manager.
	scaled := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"redis"},"spec":{"replicas":3}}`
	force := true
	if _, err := kube.AppsV1().Deployments("ns").Patch(ctx, "redis", types.ApplyPatchType, []byte(scaled),
		metav1.PatchOptions{FieldManager: "someone", Force: &force}); err != nil {
		t.Fatal(err)
	}

	_, err := applyObject(ctx, kube, "ns", objs.Deployment, applyOptions{})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "deployment.apps/redis") || !strings.Contains(err.Error(), "someone") {
		t.Fatalf("err %v, want a conflict naming the object and the other manager", err)
	}
	res, err := applyObject(ctx, kube, "ns", objs.Deployment, applyOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Op != opConfigured || *res.Object.(*appsv1.Deployment).Spec.Replicas != 1 {
		t.Fatalf("forced apply: %s, replicas %d", res.Op, *res.Object.(*appsv1.Deployment).Spec.Replicas)
	}
}

func TestApplyDryRunAsksTheServerNotToPersist(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	// The fake's tracker ignores dryRun; stand in for the API server.
	var sawDryRun bool
	kube.PrependReactor("patch", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchAction)
		opts := a.(k8stesting.PatchActionImpl).PatchOptions
		sawDryRun = len(opts.DryRun) == 1 && opts.DryRun[0] == metav1.DryRunAll && p.GetPatchType() == types.ApplyPatchType
		return true, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: p.GetName(), Namespace: "ns"}}, nil
	})
	objs := testRedisObjects(t, manifest.RedisOptions{Namespace: "ns"})
	res, err := applyObject(ctx, kube, "ns", objs.Service, applyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !sawDryRun || res.Op != opCreated {
		t.Fatalf("dry run sent: %v, op %s", sawDryRun, res.Op)
	}
}

func TestApplyBodyIsAnApplyConfiguration(t *testing.T) {
	objs := testRedisObjects(t, manifest.RedisOptions{Password: "pw"})
	body, err := applyBody(objs.Deployment)
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	for _, want := range []string{`"apiVersion":"apps/v1"`, `"kind":"Deployment"`} {
		if !strings.Contains(s, want) {
			t.Errorf("body lacks %s: %s", want, s)
		}
	}
	for _, bad := range []string{`"status"`, `creationTimestamp`, `null`} {
		if strings.Contains(s, bad) {
			t.Errorf("body has %s: %s", bad, s)
		}
	}
	if objs.Deployment.Kind != "Deployment" {
		t.Fatal("applyBody changed its argument")
	}
}

func TestObjectRefNamesLikeKubectl(t *testing.T) {
	objs := testRedisObjects(t, manifest.RedisOptions{Password: "pw", Storage: "1Gi"})
	var got []string
	for _, o := range objs.Objects() {
		got = append(got, objectRef(o))
	}
	want := "secret/redis-auth persistentvolumeclaim/redis-data service/redis deployment.apps/redis"
	if strings.Join(got, " ") != want {
		t.Fatalf("%v, want %s", got, want)
	}
	if r := objectRef(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "x"}}); r != "deployment.apps/x" {
		t.Fatalf("typed object without kind: %s", r)
	}
}

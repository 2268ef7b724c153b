package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

// applyOp says what an apply did to an object, in kubectl's words.
type applyOp string

const (
	opCreated    applyOp = "created"
	opConfigured applyOp = "configured"
	opUnchanged  applyOp = "unchanged"
)

// applyOptions tune applyObject.
type applyOptions struct {
	// DryRun asks the API server to validate, default and admit the object
	// without persisting it (--dry-run=server).
	DryRun bool
	// Force takes over fields that another field manager owns.
	//
	// It is off by default, as with `kubectl apply --server-side`: the objects
	// are ours, so a conflict means someone changed them by hand (kubectl
	// scale, set image, edit). Silently reverting that could, for instance,
	// restart Redis and lose its queues; instead the conflict is reported with
	// the fields and managers involved, and the command offers
	// --force-conflicts to take them back.
	Force bool
}

// applied is the outcome of applying one object.
type applied struct {
	// Object is the object as the API server returned it (with its GVK set).
	Object runtime.Object
	// Before is the object before the apply; nil when it was created.
	Before runtime.Object
	Op     applyOp
}

// applyObject server-side applies obj, a typed Secret, PersistentVolumeClaim,
// Service, Deployment or Job, in namespace with field manager
// manifest.FieldManager, and reports whether it was created, configured or
// left unchanged.
//
// "Changed" is decided by comparing the object before and after, without
// resourceVersion, managedFields and status: the resourceVersion also moves
// when a controller writes the status (a Redis pod becoming ready bumps the
// Deployment's), and the fake clientset of the tests does not set it at all.
func applyObject(ctx context.Context, kube kubernetes.Interface, namespace string, obj runtime.Object, o applyOptions) (applied, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return applied{}, err
	}
	name := accessor.GetName()
	body, err := applyBody(obj)
	if err != nil {
		return applied{}, fmt.Errorf("%s: %w", objectRef(obj), err)
	}
	opts := metav1.PatchOptions{FieldManager: manifest.FieldManager, Force: &o.Force}
	if o.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}

	var res applied
	switch obj.(type) {
	case *corev1.Secret:
		res, err = applyWith(ctx, kube.CoreV1().Secrets(namespace), name, body, opts)
	case *corev1.PersistentVolumeClaim:
		res, err = applyWith(ctx, kube.CoreV1().PersistentVolumeClaims(namespace), name, body, opts)
	case *corev1.Service:
		res, err = applyWith(ctx, kube.CoreV1().Services(namespace), name, body, opts)
	case *appsv1.Deployment:
		res, err = applyWith(ctx, kube.AppsV1().Deployments(namespace), name, body, opts)
	case *batchv1.Job:
		res, err = applyWith(ctx, kube.BatchV1().Jobs(namespace), name, body, opts)
	default:
		return applied{}, fmt.Errorf("applying %T is not supported", obj)
	}
	if err != nil {
		return applied{}, fmt.Errorf("applying %s: %w", objectRef(obj), err)
	}
	setKind(res.Object)
	if res.Before != nil {
		setKind(res.Before)
	}
	return res, nil
}

// getPatcher is the part of a typed client that applyWith uses.
type getPatcher[T runtime.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}

func applyWith[T runtime.Object](ctx context.Context, c getPatcher[T], name string, body []byte, opts metav1.PatchOptions) (applied, error) {
	var before runtime.Object
	prior, err := c.Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		before = prior
	case !apierrors.IsNotFound(err):
		return applied{}, err
	}
	after, err := c.Patch(ctx, name, types.ApplyPatchType, body, opts)
	if err != nil {
		return applied{}, err
	}
	res := applied{Object: after, Before: before, Op: opCreated}
	if before != nil {
		res.Op = opUnchanged
		if changed, err := differs(before, after); err != nil {
			return applied{}, err
		} else if changed {
			res.Op = opConfigured
		}
	}
	return res, nil
}

// applyBody is obj as an apply configuration: JSON with apiVersion and kind,
// without status and the null creationTimestamps that typed objects marshal.
func applyBody(obj runtime.Object) ([]byte, error) {
	obj = obj.DeepCopyObject()
	setKind(obj)
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(u, "status")
	dropNulls(u)
	return json.Marshal(u)
}

// dropNulls removes null values, which in an apply configuration would say
// nothing about the field anyway.
func dropNulls(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			dropNulls(e)
		}
	case []any:
		for _, e := range v {
			dropNulls(e)
		}
	}
}

// differs compares two versions of an object, ignoring what changes without
// a change of the object itself.
func differs(before, after runtime.Object) (bool, error) {
	b, err := comparableForm(before)
	if err != nil {
		return false, err
	}
	a, err := comparableForm(after)
	if err != nil {
		return false, err
	}
	return !reflect.DeepEqual(a, b), nil
}

func comparableForm(obj runtime.Object) (map[string]any, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj.DeepCopyObject())
	if err != nil {
		return nil, err
	}
	delete(u, "status")
	delete(u, "apiVersion")
	delete(u, "kind")
	if m, ok := u["metadata"].(map[string]any); ok {
		delete(m, "resourceVersion")
		delete(m, "managedFields")
		delete(m, "generation")
	}
	return u, nil
}

// setKind fills in obj's apiVersion and kind, which typed clients leave
// empty, so that printers and apply bodies have them.
func setKind(obj runtime.Object) {
	if !obj.GetObjectKind().GroupVersionKind().Empty() {
		return
	}
	if gvks, _, err := kubescheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
}

// objectRef names obj as kubectl does: "deployment.apps/redis".
func objectRef(obj runtime.Object) string {
	obj = obj.DeepCopyObject()
	setKind(obj)
	gk := obj.GetObjectKind().GroupVersionKind().GroupKind()
	name := ""
	if a, err := meta.Accessor(obj); err == nil {
		name = a.GetName()
	}
	kind := gk.Kind
	if gk.Group != "" {
		kind += "." + gk.Group
	}
	return strings.ToLower(kind) + "/" + name
}

// dryRunNote is what kubectl writes after an object's name for --dry-run
// mode ("none", "client" or "server"): "", " (dry run)" or " (server dry run)".
func dryRunNote(mode string) string {
	switch mode {
	case "client":
		return " (dry run)"
	case "server":
		return " (server dry run)"
	}
	return ""
}

package cmd

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

// defaultStorage is the size of Redis' claim unless --storage says otherwise.
const defaultStorage = "1Gi"

// storagePlan is where init keeps Redis' data: on a claim of size (of
// class, "" for the cluster's default), or in an emptyDir when size is "".
type storagePlan struct {
	size, class string
	// notes are said on stderr, before anything is applied.
	notes []string
}

// planStorage decides where Redis keeps its data. A Redis that exists keeps
// what it has unless a flag says otherwise: a rerun never moves the data
// silently. A new one gets a claim when the cluster can provision it, and
// an emptyDir, with a warning, when it cannot.
func (o *InitOptions) planStorage(ctx context.Context, existing *appsv1.Deployment) (storagePlan, error) {
	claim := manifest.RedisDataClaimName(o.service)
	if existing != nil {
		switch v := dataVolume(existing); v {
		case claim:
			return o.keepClaim(ctx, claim)
		default:
			return storagePlan{}, fmt.Errorf("deployment/%s keeps its data on persistentvolumeclaim/%s, which init did not make (it uses %s): "+
				"init would move Redis off it; undo the edit, or delete the Deployment first", o.service, v, claim)
		case "":
			if o.Storage == "" && o.StorageClass == "" {
				p := storagePlan{}
				if !o.Ephemeral {
					p.notes = append(p.notes, fmt.Sprintf("Note: Redis keeps its data in an emptyDir, as an earlier init deployed it: the queues are lost "+
						"with its pod (deleted, evicted, moved to another node). To keep them on a volume between runs: "+
						"kubectl workqueue init -n %s --storage %s --recreate (that replaces the pod: the queues it holds now are lost)", o.namespace, defaultStorage))
				}
				return p, nil
			}
		}
	}
	switch {
	case o.Ephemeral:
		return storagePlan{notes: []string{"Note: Redis keeps its data in an emptyDir (--ephemeral): it survives Redis restarting in its pod, " +
			"but not the pod being deleted, evicted or moved to another node. The queues are then lost; run and wait say so (exit 4)."}}, nil
	case o.StorageClass != "":
		return storagePlan{size: o.sizeOr(defaultStorage), class: o.StorageClass}, nil
	}
	ok, err := o.hasDefaultStorageClass(ctx)
	if err != nil {
		return storagePlan{}, err
	}
	switch {
	case ok:
		return storagePlan{size: o.sizeOr(defaultStorage)}, nil
	case o.Storage != "":
		return storagePlan{}, fmt.Errorf("--storage %s: the cluster has no default StorageClass, so the claim would never be bound: "+
			"name one with --storage-class (kubectl get storageclass), or keep the data in an emptyDir with --ephemeral", o.Storage)
	}
	return storagePlan{notes: []string{"Warning: the cluster has no default StorageClass: Redis keeps its data in an emptyDir, " +
		"and the queues are lost with its pod (deleted, evicted, moved to another node). Keep them on a volume with " +
		"--storage-class NAME (kubectl get storageclass); --ephemeral chooses the emptyDir without this warning."}}, nil
}

// keepClaim plans for a Redis whose data is on claim already: same class
// and size unless --storage asks for a new size.
func (o *InitOptions) keepClaim(ctx context.Context, claim string) (storagePlan, error) {
	if o.Ephemeral {
		return storagePlan{}, fmt.Errorf("--ephemeral: deployment/%s keeps its data on persistentvolumeclaim/%s, and would restart without it; "+
			"to do that anyway, delete the Deployment first (kubectl delete deployment %s -n %s; the claim and its data stay)",
			o.service, claim, o.service, o.namespace)
	}
	pvc, err := o.kube.CoreV1().PersistentVolumeClaims(o.namespace).Get(ctx, claim, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return storagePlan{size: o.sizeOr(defaultStorage), class: o.StorageClass}, nil
	case err != nil:
		return storagePlan{}, fmt.Errorf("reading persistentvolumeclaim/%s: %w", claim, err)
	}
	p := storagePlan{size: o.Storage}
	if p.size == "" {
		size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		p.size = size.String()
	}
	if c := pvc.Spec.StorageClassName; c != nil {
		p.class = *c
	}
	if o.StorageClass != "" && o.StorageClass != p.class {
		return storagePlan{}, fmt.Errorf("--storage-class %s: persistentvolumeclaim/%s has storage class %q, which cannot change; "+
			"to move Redis' data to another class, delete the Deployment and the claim first (its queues are lost)", o.StorageClass, claim, p.class)
	}
	return p, nil
}

func (o *InitOptions) sizeOr(def string) string {
	if o.Storage != "" {
		return o.Storage
	}
	return def
}

// hasDefaultStorageClass tells whether a claim without a class gets
// provisioned. StorageClasses are cluster-wide, which a user with a Role
// in one namespace may not read (docs/rbac.yaml); then a server-side dry
// run of the claim says it: the API server's DefaultStorageClass admission
// fills in the default class.
func (o *InitOptions) hasDefaultStorageClass(ctx context.Context) (bool, error) {
	list, err := o.kube.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, sc := range list.Items {
			if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" ||
				sc.Annotations["storageclass.beta.kubernetes.io/is-default-class"] == "true" {
				return true, nil
			}
		}
		return false, nil
	}
	if !apierrors.IsForbidden(err) {
		return false, fmt.Errorf("looking for the cluster's default StorageClass: %w", err)
	}
	objs, err := manifest.Redis(manifest.RedisOptions{Name: o.service, Storage: defaultStorage, Namespace: o.namespace})
	if err != nil {
		return false, err
	}
	res, err := applyObject(ctx, o.kube, o.namespace, objs.PVC, applyOptions{DryRun: true})
	if err != nil {
		return false, fmt.Errorf("asking the API server for the default StorageClass (dry run of persistentvolumeclaim/%s): %w", objs.PVC.Name, err)
	}
	pvc, _ := res.Object.(*corev1.PersistentVolumeClaim)
	return pvc != nil && pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName != "", nil
}

// dataVolume is the claim that holds the data of Redis deployed as d, or ""
// for an emptyDir.
func dataVolume(d *appsv1.Deployment) string {
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == manifest.RedisDataVolume && v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

//go:build ignore

// This file is built only by hack/localcluster/build.sh (inside the
// throwaway Kubernetes build module, file named explicitly, which overrides
// the "ignore" constraint), like criclean. The constraint keeps it out of the
// repository's own module.

// provisioner is the local cluster's dynamic volume provisioner: for each
// PersistentVolumeClaim of a StorageClass whose provisioner is -name
// (addons/storage.yaml: the default class, local-hostpath), it makes a
// directory under -dir and a hostPath PersistentVolume bound to the claim;
// when the volume is released with reclaimPolicy Delete, it removes both.
//
// kube-controller-manager's own --enable-hostpath-provisioner would do the
// same, but makes its directories root-owned with mode 0750, which a pod
// running as non-root (Redis under the "restricted" Pod Security Standard)
// cannot write to: hostPath volumes ignore fsGroup. These are 0777.
//
//	provisioner -kubeconfig admin.kubeconfig -dir /var/lib/localk8s/state/pv
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	// annProvisioner is how kube-controller-manager asks an external
	// provisioner for a claim's volume (and its beta form).
	annProvisioner     = "volume.kubernetes.io/storage-provisioner"
	annProvisionerBeta = "volume.beta.kubernetes.io/storage-provisioner"
	// annProvisionedBy marks the volumes this provisioner made.
	annProvisionedBy = "pv.kubernetes.io/provisioned-by"
)

type provisioner struct {
	kube kubernetes.Interface
	name string
	dir  string
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of a user that may manage PersistentVolumes")
	dir := flag.String("dir", "/var/lib/localk8s/state/pv", "where the volumes' directories go")
	name := flag.String("name", "localk8s.io/hostpath", "the StorageClasses' provisioner field this provisioner serves")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	p := &provisioner{kube: kubernetes.NewForConfigOrDie(cfg), name: *name, dir: *dir}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// The resync looks at every object again now and then, so a claim or
	// volume whose event failed halfway is taken up again.
	factory := informers.NewSharedInformerFactory(p.kube, 30*time.Second)
	claims := factory.Core().V1().PersistentVolumeClaims().Informer()
	volumes := factory.Core().V1().PersistentVolumes().Informer()
	onEvery := func(f func(context.Context, any)) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { f(ctx, obj) },
			UpdateFunc: func(_, obj any) { f(ctx, obj) },
		}
	}
	if _, err := claims.AddEventHandler(onEvery(p.claim)); err != nil {
		log.Fatal(err)
	}
	if _, err := volumes.AddEventHandler(onEvery(p.volume)); err != nil {
		log.Fatal(err)
	}
	factory.Start(ctx.Done())
	log.Printf("provisioning %s volumes in %s", p.name, p.dir)
	<-ctx.Done()
	factory.Shutdown()
}

// claim makes the volume of a pending claim that kube-controller-manager
// handed to this provisioner.
func (p *provisioner) claim(ctx context.Context, obj any) {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil ||
		(pvc.Annotations[annProvisioner] != p.name && pvc.Annotations[annProvisionerBeta] != p.name) {
		return
	}
	ref := pvc.Namespace + "/" + pvc.Name
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		log.Printf("claim %s: block volumes are not supported", ref)
		return
	}
	name := "pvc-" + string(pvc.UID)
	if _, err := p.kube.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{}); err == nil {
		return // made already; the controller binds it
	}
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if sc, err := p.kube.StorageV1().StorageClasses().Get(ctx, class, metav1.GetOptions{}); err == nil && sc.ReclaimPolicy != nil {
		reclaim = *sc.ReclaimPolicy
	}
	path := filepath.Join(p.dir, name)
	// Any user may write: the pod's fsGroup does not apply to hostPath.
	if err := os.MkdirAll(path, 0o777); err != nil {
		log.Printf("claim %s: %v", ref, err)
		return
	}
	if err := os.Chmod(path, 0o777); err != nil {
		log.Printf("claim %s: %v", ref, err)
		return
	}
	dirType := corev1.HostPathDirectory
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annProvisionedBy: p.name}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class,
			VolumeMode:                    pvc.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &dirType},
			},
		},
	}
	if _, err := p.kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		log.Printf("claim %s: creating volume %s: %v", ref, name, err)
		return
	}
	log.Printf("claim %s: volume %s in %s", ref, name, path)
}

// volume removes a volume of this provisioner that its claim released, and
// its directory, when its reclaim policy says Delete.
func (p *provisioner) volume(ctx context.Context, obj any) {
	pv, ok := obj.(*corev1.PersistentVolume)
	if !ok || pv.Annotations[annProvisionedBy] != p.name || pv.Status.Phase != corev1.VolumeReleased ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.DeletionTimestamp != nil {
		return
	}
	if pv.Spec.HostPath != nil {
		path := pv.Spec.HostPath.Path
		if rel, err := filepath.Rel(p.dir, path); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			log.Printf("volume %s: %s is not under %s: left alone", pv.Name, path, p.dir)
			return
		}
		if err := os.RemoveAll(path); err != nil {
			log.Printf("volume %s: %v", pv.Name, err)
			return
		}
	}
	err := p.kube.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pv.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		log.Printf("volume %s: %v", pv.Name, err)
		return
	}
	log.Printf("volume %s: deleted with its directory", pv.Name)
}

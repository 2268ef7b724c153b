package manifest

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/objpatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// patch applies o.Patches to job in order; each must keep what the workers
// need, which is what build added to Base.
func (o *JobOptions) patch(job *batchv1.Job, worker string) (*batchv1.Job, error) {
	if len(o.Patches) == 0 {
		return job, nil
	}
	need := o.needs(job, worker)
	for _, p := range o.Patches {
		patched, err := objpatch.Apply(job, p)
		if err != nil {
			return nil, err
		}
		if broken := need.brokenBy(patched); len(broken) > 0 {
			msg := "undoes what the workers need: " + strings.Join(broken, "; ")
			if p.Type == objpatch.Merge {
				msg += " (a merge patch replaces lists whole; a strategic patch merges containers, env and volumes by name)"
			}
			return nil, &objpatch.Error{Source: p.Source, Err: errors.New(msg)}
		}
		job = patched
	}
	return job, nil
}

// needs is what a patch must keep of the Job that build made.
type needs struct {
	namespace                           string
	labels, templateLabels, annotations map[string]string
	completions                         *int32
	container                           string
	// env is the worker container's WORKQUEUE_* variables.
	env []corev1.EnvVar
	// command is the injected worker's command line; nil without one.
	command                 []string
	volumes, initContainers []string
	mounts                  []corev1.VolumeMount
}

func (o *JobOptions) needs(job *batchv1.Job, worker string) needs {
	pod := &job.Spec.Template.Spec
	n := needs{
		namespace:      job.Namespace,
		labels:         pick(job.Labels, LabelManagedBy, LabelQueue),
		templateLabels: pick(job.Spec.Template.Labels, LabelManagedBy, LabelQueue),
		annotations:    pick(job.Annotations, AnnotationQueue),
		completions:    copyPtr(job.Spec.Completions),
		container:      worker,
	}
	c := container(pod, worker)
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, EnvPrefix) {
			n.env = append(n.env, *e.DeepCopy())
		}
	}
	if len(o.Command) > 0 {
		n.command = slices.Clone(c.Command)
	}
	// What build added to Base: Base's own the patch may remove.
	base := &corev1.PodSpec{}
	if o.Base != nil {
		base = &o.Base.Job.Spec.Template.Spec
	}
	for _, v := range pod.Volumes {
		if !slices.ContainsFunc(base.Volumes, func(b corev1.Volume) bool { return b.Name == v.Name }) {
			n.volumes = append(n.volumes, v.Name)
		}
	}
	for _, ic := range pod.InitContainers {
		if container(&corev1.PodSpec{Containers: base.InitContainers}, ic.Name) == nil {
			n.initContainers = append(n.initContainers, ic.Name)
		}
	}
	var baseMounts []corev1.VolumeMount
	if bc := container(base, worker); bc != nil {
		baseMounts = bc.VolumeMounts
	}
	for _, m := range c.VolumeMounts {
		if !slices.ContainsFunc(baseMounts, func(b corev1.VolumeMount) bool { return b.Name == m.Name }) {
			n.mounts = append(n.mounts, m)
		}
	}
	return n
}

// envPurpose says what a worker variable is for, in errors.
var envPurpose = map[string]string{
	workerenv.Queue:         "the queue the workers drain",
	workerenv.RedisAddr:     "where the workers reach Redis",
	workerenv.RedisPassword: "Redis' password",
	workerenv.RedisUsername: "Redis' ACL user",
	workerenv.RedisURL:      "where the workers reach Redis",
	workerenv.RedisTLSDir:   "where the workers find Redis' CA",
}

// brokenBy lists what job lacks of n.
func (n needs) brokenBy(job *batchv1.Job) []string {
	var broken []string
	add := func(format string, args ...any) { broken = append(broken, fmt.Sprintf(format, args...)) }
	if job.Namespace != n.namespace {
		add("moves the Job to namespace %q", job.Namespace)
	}
	for _, l := range []struct {
		what      string
		want, got map[string]string
	}{
		{"label", n.labels, job.Labels},
		{"pod template label", n.templateLabels, job.Spec.Template.Labels},
		{"annotation", n.annotations, job.Annotations},
	} {
		for _, k := range slices.Sorted(maps.Keys(l.want)) {
			if l.got[k] != l.want[k] {
				add("%s %s must be %q (it ties the Job to its queue)", l.what, k, l.want[k])
			}
		}
	}
	if !reflect.DeepEqual(job.Spec.Completions, n.completions) {
		if n.completions == nil {
			add("sets spec.completions, which a work-queue Job does not have (each pod works until the queue is empty)")
		} else {
			add("changes spec.completions from %d, one per pending item", *n.completions)
		}
	}
	pod := &job.Spec.Template.Spec
	c := container(pod, n.container)
	if c == nil {
		add("removes container %q, the worker, which holds the queue's variables", n.container)
		return broken
	}
	for _, want := range n.env {
		i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == want.Name })
		what := fmt.Sprintf("env %s of container %q", want.Name, n.container)
		if p := envPurpose[want.Name]; p != "" {
			what += " (" + p + ")"
		}
		switch {
		case i < 0:
			add("removes %s", what)
		case !reflect.DeepEqual(c.Env[i], want):
			add("changes %s", what)
		}
	}
	if n.command != nil && (!slices.Equal(c.Command, n.command) || len(c.Args) > 0) {
		add("changes the command of container %q, which runs the injected worker (%s) with the command given to run", n.container, WorkerInstalledBinary)
	}
	for _, v := range n.volumes {
		if !slices.ContainsFunc(pod.Volumes, func(pv corev1.Volume) bool { return pv.Name == v }) {
			add("removes volume %q", v)
		}
	}
	for _, name := range n.initContainers {
		if container(&corev1.PodSpec{Containers: pod.InitContainers}, name) == nil {
			add("removes init container %q", name)
		}
	}
	for _, m := range n.mounts {
		if !slices.ContainsFunc(c.VolumeMounts, func(cm corev1.VolumeMount) bool { return cm.Name == m.Name && cm.MountPath == m.MountPath }) {
			add("removes the mount of volume %q at %s from container %q", m.Name, m.MountPath, n.container)
		}
	}
	return broken
}

// container is pod's container called name, or nil.
func container(pod *corev1.PodSpec, name string) *corev1.Container {
	for i := range pod.Containers {
		if pod.Containers[i].Name == name {
			return &pod.Containers[i]
		}
	}
	return nil
}

// pick is the entries of m with the given keys.
func pick(m map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

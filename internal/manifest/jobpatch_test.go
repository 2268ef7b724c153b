package manifest

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/objpatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

func withPatches(o JobOptions, ps ...objpatch.Patch) JobOptions {
	o.Patches = ps
	return o
}

func strategic(source, data string) objpatch.Patch {
	return objpatch.Patch{Source: source, Type: objpatch.Strategic, Data: []byte(data)}
}

// mountInput is the README's example: a ConfigMap for every worker, a GPU node.
const mountInput = `spec:
  template:
    spec:
      nodeSelector: {accelerator: nvidia-a100}
      tolerations: [{key: nvidia.com/gpu, operator: Exists}]
      containers:
      - name: worker
        env: [{name: MODEL, value: big}]
        volumeMounts: [{name: input, mountPath: /input}]
        resources: {limits: {nvidia.com/gpu: "1"}}
      volumes: [{name: input, configMap: {name: input}}]
`

func TestPatchStrategicAddsToTheWorker(t *testing.T) {
	plain := mustJob(t, commandJob())
	j := mustJob(t, withPatches(commandJob(), strategic("gpu.yaml", mountInput)))
	pod := j.Spec.Template.Spec
	c := pod.Containers[0]
	if len(pod.Containers) != 1 || pod.NodeSelector["accelerator"] != "nvidia-a100" || len(pod.Tolerations) != 1 {
		t.Errorf("pod = %+v", pod)
	}
	env := envMap(t, c)
	if env["MODEL"].Value != "big" || env[workerenv.Queue].Value != "images:resize" || env[workerenv.RedisPassword].ValueFrom == nil {
		t.Errorf("env = %+v, want MODEL added and the worker's kept", c.Env)
	}
	if !reflect.DeepEqual(c.Command, plain.Spec.Template.Spec.Containers[0].Command) || len(pod.InitContainers) != 1 {
		t.Errorf("command %q, init containers %v: want the injected worker kept", c.Command, pod.InitContainers)
	}
	if len(c.VolumeMounts) != 2 || len(pod.Volumes) != 2 {
		t.Errorf("mounts %v volumes %v: want the worker's and the input's", c.VolumeMounts, pod.Volumes)
	}
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.String() != "1" || c.Resources.Requests.Cpu().String() != "250m" {
		t.Errorf("resources = %+v, want the GPU added to the flags'", c.Resources)
	}
}

func TestPatchesApplyInOrder(t *testing.T) {
	j := mustJob(t, withPatches(docsJob(),
		strategic("one.yaml", "spec: {parallelism: 7, template: {spec: {priorityClassName: low}}}"),
		objpatch.Patch{Source: "--patch", Type: objpatch.JSON, Data: []byte(`[{"op":"replace","path":"/spec/template/spec/priorityClassName","value":"high"}]`)},
		objpatch.Patch{Source: "three.json", Type: objpatch.Merge, Data: []byte(`{"spec":{"backoffLimit":1}}`)},
	))
	if *j.Spec.Parallelism != 7 || j.Spec.Template.Spec.PriorityClassName != "high" || *j.Spec.BackoffLimit != 1 {
		t.Errorf("spec = %+v", j.Spec)
	}
}

// The defaults a user may not want are a patch away.
func TestPatchOverridesDefaults(t *testing.T) {
	j := mustJob(t, withPatches(docsJob(), strategic("p.yaml", `spec:
  podFailurePolicy: null
  template:
    spec:
      automountServiceAccountToken: true
`)))
	if j.Spec.PodFailurePolicy != nil || !ptr.Deref(j.Spec.Template.Spec.AutomountServiceAccountToken, false) {
		t.Errorf("podFailurePolicy %v automount %v: the patch did not override the defaults", j.Spec.PodFailurePolicy, j.Spec.Template.Spec.AutomountServiceAccountToken)
	}
}

func TestPatchThatBreaksTheWorkers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     JobOptions
		patch objpatch.Patch
		want  []string
	}{
		{"merge replaces the containers", commandJob(),
			objpatch.Patch{Source: "fix.yaml", Type: objpatch.Merge, Data: []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"worker","image":"x:v1"}]}}}}`)},
			[]string{"fix.yaml: undoes what the workers need", `removes env WORKQUEUE_QUEUE of container "worker" (the queue the workers drain)`,
				"removes env WORKQUEUE_REDIS_PASSWORD", "changes the command", `removes the mount of volume "workqueue-bin"`, "a merge patch replaces lists whole"}},
		{"strategic replaces the env", docsJob(),
			strategic("env.yaml", "spec: {template: {spec: {containers: [{name: worker, env: [{$patch: replace}, {name: A, value: b}]}]}}}"),
			[]string{"env.yaml: undoes", "removes env WORKQUEUE_REDIS_ADDR"}},
		{"strategic changes the queue", docsJob(),
			strategic("q.yaml", "spec: {template: {spec: {containers: [{name: worker, env: [{name: WORKQUEUE_QUEUE, value: other}]}]}}}"),
			[]string{`changes env WORKQUEUE_QUEUE of container "worker"`}},
		{"command replaced", commandJob(),
			strategic("cmd.yaml", "spec: {template: {spec: {containers: [{name: worker, command: [python3, other.py]}]}}}"),
			[]string{`changes the command of container "worker", which runs the injected worker`}},
		{"args added", commandJob(),
			strategic("args.yaml", "spec: {template: {spec: {containers: [{name: worker, args: [--x]}]}}}"),
			[]string{"changes the command"}},
		{"worker renamed", docsJob(),
			objpatch.Patch{Source: "--patch", Type: objpatch.JSON, Data: []byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/name","value":"main"}]`)},
			[]string{`--patch: undoes what the workers need: removes container "worker"`}},
		{"init container removed", commandJob(),
			objpatch.Patch{Source: "p.json", Type: objpatch.JSON, Data: []byte(`[{"op":"remove","path":"/spec/template/spec/initContainers/0"}]`)},
			[]string{`removes init container "install-worker"`}},
		{"volume removed", commandJob(),
			strategic("v.yaml", "spec: {template: {spec: {volumes: [{name: workqueue-bin, $patch: delete}]}}}"),
			[]string{`removes volume "workqueue-bin"`}},
		{"completions", docsJob(), strategic("c.yaml", "spec: {completions: 3}"),
			[]string{"sets spec.completions, which a work-queue Job does not have"}},
		{"per-item completions", perItemJob(), strategic("c.yaml", "spec: {completions: 3}"),
			[]string{"changes spec.completions from 8"}},
		{"queue label", docsJob(), strategic("l.yaml", "metadata: {labels: {workqueue.kubectl.io/queue: null}}"),
			[]string{"label workqueue.kubectl.io/queue must be \"job2\""}},
		{"queue annotation", docsJob(), objpatch.Patch{Source: "a.json", Type: objpatch.Merge, Data: []byte(`{"metadata":{"annotations":null}}`)},
			[]string{"annotation workqueue.kubectl.io/queue must be"}},
		{"namespace", docsJob(), strategic("n.yaml", "metadata: {namespace: other}"),
			[]string{`moves the Job to namespace "other"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Job(withPatches(tc.o, tc.patch))
			var pe *objpatch.Error
			if !errors.As(err, &pe) || pe.Source != tc.patch.Source {
				t.Fatalf("error %v (%T), want an objpatch.Error about %s", err, err, tc.patch.Source)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// A file's own volumes and containers are the user's to patch away; only
// what run added must stay.
func TestPatchMayRemoveWhatTheFileHad(t *testing.T) {
	o := baseOptions(t)
	o.Patches = []objpatch.Patch{strategic("slim.yaml", `spec:
  template:
    spec:
      containers:
      - {name: log-shipper, $patch: delete}
      - name: render
        volumeMounts: [{mountPath: /scratch, $patch: delete}]
      volumes: [{name: scratch, $patch: delete}]
`)}
	j := mustJob(t, o)
	if len(j.Spec.Template.Spec.Containers) != 1 || len(j.Spec.Template.Spec.Volumes) != 2 {
		t.Errorf("pod = %+v", j.Spec.Template.Spec)
	}
}

func TestPatchErrorsNameTheSource(t *testing.T) {
	for _, tc := range []struct {
		patch objpatch.Patch
		want  string
	}{
		{strategic("bad.yaml", "spec:\n  parallelism: [\n"), "bad.yaml: line 2: not valid YAML or JSON: did not find expected node content"},
		{objpatch.Patch{Source: "ops.yaml", Type: objpatch.JSON, Data: []byte("- op: remove\n  path: /spec/template/spec/nodeSelector/gpu\n")},
			"ops.yaml: line 1: operation 1 (remove /spec/template/spec/nodeSelector/gpu): the path does not exist"},
		{strategic("typo.yaml", "spec:\n  template:\n    spec:\n      nodeSelektor: {a: b}\n"), "typo.yaml: line 4: spec.template.spec.nodeSelektor: unknown field"},
	} {
		_, err := Job(withPatches(docsJob(), tc.patch))
		if err == nil || err.Error() != tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func TestCapParallelism(t *testing.T) {
	for _, tc := range []struct {
		parallelism   int32
		pending       int64
		want          int32
		wantCapped    bool
		wantUnchanged bool
	}{
		{20, 3, 3, true, false},
		{3, 3, 3, false, true},
		{2, 100, 2, false, true},
		{5, 0, 5, false, true}, // an empty queue (--allow-empty) says nothing of the items to come
	} {
		o := docsJob()
		o.Parallelism = ptr.To(tc.parallelism)
		j := mustJob(t, o)
		was, capped := CapParallelism(j, tc.pending)
		if was != tc.parallelism || capped != tc.wantCapped || *j.Spec.Parallelism != tc.want {
			t.Errorf("CapParallelism(%d, %d) = %d, %v; parallelism %d, want %d", tc.parallelism, tc.pending, was, capped, *j.Spec.Parallelism, tc.want)
		}
	}
}

func TestJobNoTokenUnlessServiceAccount(t *testing.T) {
	o := docsJob()
	if a := mustJob(t, o).Spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("automountServiceAccountToken = %v without a service account, want false", a)
	}
	o.ServiceAccount = "reader"
	if a := mustJob(t, o).Spec.Template.Spec.AutomountServiceAccountToken; a != nil {
		t.Errorf("automountServiceAccountToken = %v with --service-account, want the service account's own setting", *a)
	}
}

func TestJobNoPodFailurePolicyWithOnFailure(t *testing.T) {
	o := docsJob()
	o.RestartPolicy = corev1.RestartPolicyOnFailure
	if p := mustJob(t, o).Spec.PodFailurePolicy; p != nil {
		t.Errorf("podFailurePolicy %+v with restartPolicy OnFailure, which the API server rejects", p)
	}
}

package objpatch

import (
	"errors"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func job() *batchv1.Job {
	return &batchv1.Job{Spec: batchv1.JobSpec{
		Parallelism: ptr.To[int32](2),
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "worker", Image: "img:v1",
				Env: []corev1.EnvVar{{Name: "WORKQUEUE_QUEUE", Value: "q"}},
			}},
		}},
	}}
}

func TestStrategicMergesContainersByName(t *testing.T) {
	orig := job()
	p := Patch{Source: "gpu.yaml", Type: Strategic, Data: []byte(`
spec:
  template:
    spec:
      nodeSelector: {gpu: "true"}
      containers:
      - name: worker
        env: [{name: MODEL, value: big}]
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, configMap: {name: input}}]
`)}
	got, err := Apply(orig, p)
	if err != nil {
		t.Fatal(err)
	}
	c := got.Spec.Template.Spec.Containers
	if len(c) != 1 || c[0].Image != "img:v1" {
		t.Fatalf("containers: %+v, want the worker merged, image kept", c)
	}
	if len(c[0].Env) != 2 || c[0].Env[0].Name != "MODEL" && c[0].Env[1].Name != "MODEL" {
		t.Errorf("env %+v: want WORKQUEUE_QUEUE kept and MODEL added", c[0].Env)
	}
	if len(c[0].VolumeMounts) != 1 || got.Spec.Template.Spec.Volumes[0].ConfigMap.Name != "input" || got.Spec.Template.Spec.NodeSelector["gpu"] != "true" {
		t.Errorf("patch not applied: %+v", got.Spec.Template.Spec)
	}
	if len(orig.Spec.Template.Spec.Volumes) != 0 {
		t.Error("Apply modified its input")
	}
}

func TestMergeReplacesLists(t *testing.T) {
	got, err := Apply(job(), Patch{Source: "-p", Type: Merge, Data: []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"worker","image":"other:v2"}]}}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Spec.Template.Spec.Containers[0]; c.Image != "other:v2" || len(c.Env) != 0 {
		t.Errorf("merge patch: %+v, want the container replaced whole (RFC 7386)", c)
	}
}

func TestJSONPatch(t *testing.T) {
	got, err := Apply(job(), Patch{Source: "ops.yaml", Type: JSON, Data: []byte(`
- op: replace
  path: /spec/parallelism
  value: 5
- op: add
  path: /spec/template/spec/containers/0/args
  value: [--fast]
`)})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Parallelism != 5 || got.Spec.Template.Spec.Containers[0].Args[0] != "--fast" {
		t.Errorf("json patch not applied: %+v", got.Spec)
	}
}

// checkErr asserts that err is an *Error at source and line, whose text has each of want.
func checkErr(t *testing.T, err error, source string, line int, want ...string) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want an *objpatch.Error", err, err)
	}
	if pe.Source != source || pe.Line != line {
		t.Errorf("error %q: source %q line %d, want %q line %d", err, pe.Source, pe.Line, source, line)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestErrorsSayWhere(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  Type
		data string
		line int
		want []string
	}{
		{"not YAML", Strategic, "spec:\n  parallelism: 3\n   bad: [\n", 3, []string{"not valid YAML"}},
		{"not a map", Strategic, "just some words\n", 1, []string{"object", "just some words"}},
		{"empty", Merge, "\n\n", 0, []string{"is empty"}},
		{"two documents", Strategic, "spec: {}\n---\nspec: {}\n", 2, []string{"more than one"}},
		{"unknown field", Strategic, "spec:\n  template:\n    spec:\n      containers:\n      - name: worker\n        volumeMount: []\n", 6,
			[]string{"spec.template.spec.containers[0].volumeMount", "unknown field"}},
		{"wrong type", Merge, "spec:\n  parallelism: three\n", 2, []string{"spec.parallelism", "is a string, want a number"}},
		{"json patch on a missing path", JSON, "- op: replace\n  path: /spec/parallelism\n  value: 1\n- op: remove\n  path: /spec/template/spec/nodeSelector/gpu\n", 4,
			[]string{"operation 2 (remove /spec/template/spec/nodeSelector/gpu)", "does not exist"}},
		{"json patch not a list", JSON, "op: add\n", 1, []string{"list of operations"}},
		{"json patch bad op", JSON, "- op: frobnicate\n  path: /spec\n", 1, []string{"operation 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Apply(job(), Patch{Source: "p.yaml", Type: tc.typ, Data: []byte(tc.data)})
			checkErr(t, err, "p.yaml", tc.line, tc.want...)
		})
	}
}

func TestDecodeStrict(t *testing.T) {
	var j batchv1.Job
	err := Decode("job.yaml", []byte("apiVersion: batch/v1\nkind: Job\nspec:\n  paralelism: 2\n"), &j)
	checkErr(t, err, "job.yaml", 4, "spec.paralelism", "unknown field")

	err = Decode("job.yaml", []byte("- a\n- b\n"), &j)
	checkErr(t, err, "job.yaml", 1, "want an object")

	if err := Decode("job.yaml", []byte(`{"spec":{"parallelism":2}}`), &j); err != nil || *j.Spec.Parallelism != 2 {
		t.Errorf("JSON manifest: %v, %+v", err, j.Spec)
	}
}

func TestParseType(t *testing.T) {
	for _, s := range []string{"strategic", "merge", "json"} {
		if _, err := ParseType(s); err != nil {
			t.Errorf("ParseType(%q): %v", s, err)
		}
	}
	if _, err := ParseType("apply"); err == nil {
		t.Error("ParseType(apply): no error")
	}
}

package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

func TestCompletionPrintsAScriptForEachShell(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash":       "__start_kubectl-workqueue",
		"zsh":        "#compdef kubectl-workqueue",
		"fish":       "complete -c kubectl-workqueue",
		"powershell": "Register-ArgumentCompleter",
	} {
		t.Run(shell, func(t *testing.T) {
			r := mustRun(t, "", "completion", shell)
			if !strings.Contains(r.out, marker) {
				t.Errorf("completion %s: output lacks %q:\n%.300s", shell, marker, r.out)
			}
			nodesc := mustRun(t, "", "completion", shell, "--no-descriptions")
			if nodesc.out == "" {
				t.Errorf("completion %s --no-descriptions printed nothing", shell)
			}
		})
	}
}

func TestCompletionKubectlPrintsThePluginCompletionScript(t *testing.T) {
	r := mustRun(t, "", "completion", "kubectl")
	want := "#!/usr/bin/env sh\nkubectl workqueue __complete \"$@\"\n"
	if r.out != want {
		t.Errorf("completion kubectl = %q, want %q", r.out, want)
	}
	name, content := KubectlCompletionScript("windows")
	if name != "kubectl_complete-workqueue.cmd" || !strings.Contains(content, "kubectl workqueue __complete %*") {
		t.Errorf("windows script = %q %q", name, content)
	}
}

func TestCompletionKubectlInstallWritesAnExecutableIntoDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kubectl_complete-workqueue")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "completion", "kubectl", "--install", dir)
	if !strings.Contains(r.out, path) {
		t.Errorf("output %q does not name %s", r.out, path)
	}
	assertScript(t, path)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%s holds %d files, want only the script (no temporary files left)", dir, len(entries))
	}
}

func TestCompletionKubectlInstallDefaultsToThePluginsDirectoryOnPath(t *testing.T) {
	onPathDir, exeDir := t.TempDir(), t.TempDir()
	newOptions := func(lookPathErr error) *CompletionOptions {
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		return &CompletionOptions{
			IOStreams: streams,
			Shell:     "kubectl",
			Install:   true,
			goos:      "linux",
			lookPath: func(name string) (string, error) {
				if name != "kubectl-workqueue" {
					t.Errorf("looked up %q on PATH", name)
				}
				return filepath.Join(onPathDir, name), lookPathErr
			},
			executable: func() (string, error) { return filepath.Join(exeDir, "kubectl-workqueue"), nil },
		}
	}
	// krew links the plugin into its bin directory: the script goes there,
	// not next to the linked file in krew's store.
	if err := newOptions(nil).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertScript(t, filepath.Join(onPathDir, "kubectl_complete-workqueue"))
	// Not on PATH (run by its path): next to the executable.
	if err := newOptions(errors.New("not found")).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertScript(t, filepath.Join(exeDir, "kubectl_complete-workqueue"))
}

func assertScript(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("%s has mode %v, want 0755", path, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if _, want := KubectlCompletionScript("linux"); string(b) != want {
		t.Errorf("%s holds %q, want %q", path, b, want)
	}
}

func TestCompletionRejectsBadUsageBeforeWritingAnything(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"completion", "tcsh"}, `unknown shell "tcsh"`},
		{[]string{"completion", "bash", "--install"}, `use it with "completion kubectl"`},
		{[]string{"completion", "kubectl", dir}, "pass --install " + dir},
		{[]string{"completion", "kubectl", "--install", filepath.Join(dir, "missing")}, "no such file or directory"},
		{[]string{"completion"}, "accepts between 1 and 2 arg(s)"},
	} {
		r := run(t, "", tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", strings.Join(tc.args, " "), r.err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%s: %d files written by rejected commands", dir, len(entries))
	}
}

// completions runs cobra's hidden __complete command as kubectl's plugin
// completion does, and returns the candidates.
func completions(t *testing.T, args ...string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(complete(t, args...)), "\n") {
		if !strings.HasPrefix(line, ":") { // the last line is the directive
			name, _, _ := strings.Cut(line, "\t") // drop descriptions
			out = append(out, name)
		}
	}
	return out
}

// complete returns what __complete prints: one candidate a line, then the
// directive. cobra writes it to the command's output, not to the streams.
func complete(t *testing.T, args ...string) string {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCmdWorkqueue(streams)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("__complete %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out.String()
}

func TestCompleteSubcommandsAndShells(t *testing.T) {
	got := completions(t, "")
	for _, want := range []string{"completion", "delete", "seed", "status", "version"} {
		if !slices.Contains(got, want) {
			t.Errorf("kubectl workqueue <TAB> = %q: missing %q", got, want)
		}
	}
	if got := completions(t, "completion", ""); !slices.Equal(got, completionShells) {
		t.Errorf("completion <TAB> = %q, want %q", got, completionShells)
	}
}

func TestCompleteQueueNamesFromRedis(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "item")
	for _, sub := range []string{"status", "seed", "delete"} {
		got := completions(t, sub, url, q[:len(q)-3])
		if !slices.Contains(got, q) {
			t.Errorf("%s %s<TAB> = %q: missing %q", sub, q[:len(q)-3], got, q)
		}
		for _, name := range got {
			if !strings.HasPrefix(name, q[:len(q)-3]) {
				t.Errorf("%s <TAB> offers %q, which lacks the typed prefix", sub, name)
			}
		}
	}
	// Only the first argument is a queue; seed's items are free text.
	if got := completions(t, "seed", url, q, ""); len(got) != 0 {
		t.Errorf("seed %s <TAB> = %q, want nothing", q, got)
	}
}

func TestCompleteQueueNamesWithoutRedisOffersNothing(t *testing.T) {
	out := complete(t, "status", "--redis-url=redis://127.0.0.1:1", "")
	if strings.TrimSpace(out) != ":4" { // ShellCompDirectiveNoFileComp, and no names
		t.Errorf("output %q, want only the no-file directive", out)
	}
}

func TestCompleteJobsOffersThePluginsJobsInTheNamespace(t *testing.T) {
	job := func(ns, name string, managed bool) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if managed {
			j.Labels = map[string]string{manifest.LabelManagedBy: manifest.ManagedByValue}
		}
		return j
	}
	f := newFactory()
	f.kube = fake.NewClientset(
		job("team-a", "wq-job2", true),
		job("team-a", "wq-job1", true),
		job("team-a", "backup", true),
		job("team-a", "wq-other-tool", false),
		job("team-b", "wq-elsewhere", true),
	)
	ns := "team-a"
	f.configFlags.Namespace = &ns

	got, directive := completeJobs(f)(&cobra.Command{}, nil, "wq-")
	if want := []string{"wq-job1", "wq-job2"}; !slices.Equal(got, want) {
		t.Errorf("completeJobs = %q, want %q", got, want)
	}
	if directive != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("directive = %v, want NoFileComp", directive)
	}
	if got, _ := completeJobs(f)(&cobra.Command{}, []string{"wq-job1"}, ""); len(got) != 0 {
		t.Errorf("second argument completed with %q, want nothing", got)
	}
}

// `kubectl workqueue logs <TAB>` and `wait <TAB>` offer the plugin's Jobs.
func TestLogsAndWaitCompleteJobNames(t *testing.T) {
	kube := fake.NewClientset(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "wq-job2",
		Labels: map[string]string{manifest.LabelManagedBy: manifest.ManagedByValue}}})
	for _, verb := range []string{"logs", "wait"} {
		r := runKube(t, kube, "__complete", "-n", "ns", verb, "")
		if !strings.HasPrefix(r.out, "wq-job2\n") {
			t.Errorf("%s: completion output %q", verb, r.out)
		}
	}
}

// candidates are the names in what __complete printed, without the directive.
func candidates(out string) []string {
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" && !strings.HasPrefix(line, ":") {
			name, _, _ := strings.Cut(line, "\t")
			names = append(names, name)
		}
	}
	return names
}

// Flag values complete as kubectl's do: the formats, the dry-run modes, and
// containers by name from where the command will look for them.
func TestCompleteFlagValues(t *testing.T) {
	dir := t.TempDir()
	jobFile := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(jobFile, []byte(`apiVersion: batch/v1
kind: Job
metadata: {name: render}
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - {name: renderer, image: render:1}
      - {name: uploader, image: upload:1}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "wq-job2"}}
	job.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "fetch"}}
	job.Spec.Template.Spec.Containers = []corev1.Container{{Name: "worker"}, {Name: "sidecar"}}
	kube := fake.NewClientset(job)

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "q", "--container", ""}, []string{manifest.WorkerContainer}},
		{[]string{"run", "q", "-f", jobFile, "--container", ""}, []string{"renderer", "uploader"}},
		{[]string{"run", "q", "-f", jobFile, "--container", "u"}, []string{"uploader"}},
		{[]string{"run", "q", "-f", filepath.Join(dir, "missing.yaml"), "--container", ""}, nil},
		{[]string{"run", "q", "-f", "-", "--container", ""}, nil},
		{[]string{"logs", "wq-job2", "-c", ""}, []string{"worker", "sidecar"}},
		{[]string{"logs", "wq-job2", "--all-containers", "-c", ""}, []string{"fetch", "worker", "sidecar"}},
		{[]string{"logs", "wq-gone", "-c", ""}, nil},
		{[]string{"logs", "-c", ""}, nil},
		{[]string{"logs", "wq-job2", "-o", ""}, []string{"json"}},
		{[]string{"status", "q", "-o", ""}, []string{"json", "yaml"}},
		{[]string{"run", "q", "--dry-run="}, []string{"none", "client", "server"}},
		{[]string{"scale", "wq-job2", "--dry-run="}, []string{"none", "client", "server"}},
		{[]string{"retry", "q", "--dry-run="}, []string{"none", "client"}},
		{[]string{"init", "--dry-run="}, []string{"none", "client", "server"}},
		{[]string{"init", "--appendfsync", ""}, []string{"everysec", "always"}},
	} {
		r := runKube(t, kube, append([]string{cobra.ShellCompRequestCmd, "-n", "ns"}, tc.args...)...)
		if r.err != nil {
			t.Fatalf("%s: %v", strings.Join(tc.args, " "), r.err)
		}
		if got := candidates(r.out); !slices.Equal(got, tc.want) {
			t.Errorf("%s<TAB> = %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	for _, verb := range []string{"init", "run", "scale"} {
		r := runKube(t, kube, cobra.ShellCompRequestCmd, verb, "-o", "")
		if got := candidates(r.out); !slices.Contains(got, "json") || !slices.Contains(got, "yaml") || !slices.Contains(got, "name") {
			t.Errorf("%s -o <TAB> = %q, want json, yaml and name among them", verb, got)
		}
	}
}

// init --dry-run with no value is a client dry run, as it is for run, scale
// and retry: it prints the objects and contacts no cluster.
func TestInitDryRunWithoutAValueIsAClientDryRun(t *testing.T) {
	kube := fake.NewClientset()
	r := runKube(t, kube, "init", "-n", "ns", "--dry-run")
	if r.err != nil {
		t.Fatalf("init --dry-run: %v\n%s", r.err, r.errOut)
	}
	if a := kube.Actions(); len(a) != 0 {
		t.Errorf("init --dry-run called the cluster: %v", a)
	}
	if !strings.Contains(r.out, "deployment.apps/") || !strings.Contains(r.out, "(dry run)") {
		t.Errorf("init --dry-run -o name printed %q, want the objects marked (dry run)", r.out)
	}
}

package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

const completionLong = `Print a shell completion script, or set up kubectl's completion of the plugin.

As a kubectl plugin (kubectl 1.26 or newer), "kubectl workqueue <TAB>" is
completed by kubectl itself, which runs an executable named
kubectl_complete-workqueue found on PATH. krew installs only the plugin, so
write that executable next to it once:

    kubectl workqueue completion kubectl --install

With no DIR, it goes to the directory on PATH that holds kubectl-workqueue
(for krew, ~/.krew/bin). kubectl's own completion must be set up as usual
(kubectl completion bash|zsh|fish|powershell). The release archives also
contain the script.

For the standalone binary "kubectl-workqueue", print a script for your shell
with bash, zsh, fish or powershell.`

const completionExample = `  # kubectl workqueue <TAB>: install kubectl_complete-workqueue next to the plugin
  kubectl workqueue completion kubectl --install

  # ... or into a directory of your choice on PATH
  kubectl workqueue completion kubectl --install ~/bin

  # kubectl-workqueue <TAB> in bash, now and in every new shell
  source <(kubectl-workqueue completion bash)
  kubectl-workqueue completion bash > ~/.local/share/bash-completion/completions/kubectl-workqueue

  # zsh (with compinit enabled)
  kubectl-workqueue completion zsh > "${fpath[1]}/_kubectl-workqueue"

  # fish
  kubectl-workqueue completion fish > ~/.config/fish/completions/kubectl-workqueue.fish

  # PowerShell
  kubectl-workqueue completion powershell | Out-String | Invoke-Expression`

// completionShells are the arguments of `completion`, in the order offered.
var completionShells = []string{"bash", "zsh", "fish", "powershell", "kubectl"}

// KubectlCompletionScript returns the file name and content of the
// executable that kubectl (1.26+) runs to complete "kubectl workqueue ...":
// it hands the words to the plugin's cobra completion. On Windows it is a
// .cmd script, which kubectl finds through PATHEXT.
func KubectlCompletionScript(goos string) (name, content string) {
	if goos == "windows" {
		return "kubectl_complete-workqueue.cmd", "@kubectl workqueue __complete %*\r\n"
	}
	return "kubectl_complete-workqueue", "#!/usr/bin/env sh\nkubectl workqueue __complete \"$@\"\n"
}

// CompletionOptions are the options of `kubectl workqueue completion`.
type CompletionOptions struct {
	genericiooptions.IOStreams

	Shell          string
	NoDescriptions bool
	Install        bool
	// InstallDir is where --install writes the script; empty means next to
	// the plugin on PATH.
	InstallDir string

	root *cobra.Command
	goos string
	// lookPath and executable find the plugin; tests replace them.
	lookPath   func(string) (string, error)
	executable func() (string, error)
}

// NewCmdCompletion builds `kubectl workqueue completion`. It replaces
// cobra's default completion command.
func NewCmdCompletion(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CompletionOptions{
		IOStreams:  streams,
		goos:       runtime.GOOS,
		lookPath:   exec.LookPath,
		executable: os.Executable,
	}
	cmd := &cobra.Command{
		Use:     "completion bash|zsh|fish|powershell|kubectl [--install [DIR]]",
		Short:   "Set up shell completion, for kubectl workqueue or for kubectl-workqueue",
		Long:    completionLong,
		Example: completionExample,
		Args:    cobra.RangeArgs(1, 2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			switch {
			case len(args) == 0:
				return completionShells, cobra.ShellCompDirectiveNoFileComp
			case len(args) == 1 && args[0] == "kubectl":
				return nil, cobra.ShellCompDirectiveFilterDirs
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: runOptions(o),
	}
	cmd.Flags().BoolVar(&o.NoDescriptions, "no-descriptions", false, "leave the descriptions of commands and flags out of the completions")
	cmd.Flags().BoolVar(&o.Install, "install", false, "with kubectl: write the script, executable, into DIR (default: next to kubectl-workqueue on PATH) instead of printing it")
	return cmd
}

// Complete takes the shell and DIR from the arguments and finds the root command.
func (o *CompletionOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Shell = args[0]
	if len(args) > 1 {
		o.InstallDir = args[1]
	}
	o.root = cmd.Root()
	return nil
}

// Validate checks the shell and the --install combination.
func (o *CompletionOptions) Validate() error {
	if !slices.Contains(completionShells, o.Shell) {
		return fmt.Errorf("unknown shell %q: choose one of %s", o.Shell, strings.Join(completionShells, ", "))
	}
	if o.Shell != "kubectl" && (o.Install || o.InstallDir != "") {
		return fmt.Errorf("--install writes kubectl's completion executable: use it with \"completion kubectl\", not %q", o.Shell)
	}
	if o.InstallDir != "" && !o.Install {
		return fmt.Errorf("unexpected argument %q: to write the script into a directory, pass --install %s", o.InstallDir, o.InstallDir)
	}
	if o.InstallDir != "" {
		fi, err := os.Stat(o.InstallDir)
		if err != nil {
			return fmt.Errorf("--install %s: %w", o.InstallDir, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("--install %s: not a directory", o.InstallDir)
		}
	}
	return nil
}

// Run prints the script, or writes kubectl's completion executable.
func (o *CompletionOptions) Run(context.Context) error {
	desc := !o.NoDescriptions
	switch o.Shell {
	case "bash":
		return o.root.GenBashCompletionV2(o.Out, desc)
	case "zsh":
		if desc {
			return o.root.GenZshCompletion(o.Out)
		}
		return o.root.GenZshCompletionNoDesc(o.Out)
	case "fish":
		return o.root.GenFishCompletion(o.Out, desc)
	case "powershell":
		if desc {
			return o.root.GenPowerShellCompletionWithDesc(o.Out)
		}
		return o.root.GenPowerShellCompletion(o.Out)
	}
	name, content := KubectlCompletionScript(o.goos)
	if !o.Install {
		_, err := io.WriteString(o.Out, content)
		return err
	}
	dir := o.InstallDir
	if dir == "" {
		var err error
		if dir, err = o.pluginDir(); err != nil {
			return err
		}
	}
	path := filepath.Join(dir, name)
	if err := writeExecutable(path, content); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "wrote %s\n", path)
	if !onPath(dir) {
		fmt.Fprintf(o.ErrOut, "Warning: %s is not on PATH, so kubectl will not find %s there\n", dir, name)
	}
	return nil
}

// pluginDir is the directory kubectl runs the plugin from: the one on PATH
// that holds kubectl-workqueue (krew's bin directory, where krew links the
// plugin), else the directory of this executable.
func (o *CompletionOptions) pluginDir() (string, error) {
	bin := "kubectl-workqueue"
	if o.goos == "windows" {
		bin += ".exe"
	}
	if p, err := o.lookPath(bin); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return filepath.Dir(abs), nil
		}
	}
	exe, err := o.executable()
	if err != nil {
		return "", fmt.Errorf("finding the plugin's directory (pass --install DIR): %w", err)
	}
	return filepath.Dir(exe), nil
}

// writeExecutable replaces path with an executable file holding content,
// atomically: a completion running meanwhile sees the old or the new file.
func writeExecutable(path, content string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := io.WriteString(f, content); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func onPath(dir string) bool {
	want, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if abs, err := filepath.Abs(d); err == nil && abs == want {
			return true
		}
	}
	return false
}

// completionTimeout bounds how long one <TAB> waits for Redis or the API server.
const completionTimeout = 5 * time.Second

// quietStreams keeps what connecting prints (port-forward notices) out of
// the completions.
var quietStreams = genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}

// completeQueues completes a command's first argument with the names of the
// queues in Redis, reached as the --redis-* flags say.
func completeQueues(f *factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := completionContext(cmd)
		defer cancel()
		conn, err := f.connectRedis(ctx, quietStreams)
		if err != nil {
			cobra.CompDebugln("completing queues: "+err.Error(), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer conn.Close()
		names, err := queue.List(ctx, conn.Client)
		if err != nil {
			cobra.CompDebugln("completing queues: "+err.Error(), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return withPrefix(names, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// maxCompletedItems bounds how many failed items one <TAB> reads: a page.
const maxCompletedItems = queue.DefaultPageSize

// completeRetry completes retry's QUEUE, then the queue's failed items (the
// oldest page of them) that the shell can take as one word.
func completeRetry(f *factory) cobra.CompletionFunc {
	queues := completeQueues(f)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return queues(cmd, args, toComplete)
		}
		ctx, cancel := completionContext(cmd)
		defer cancel()
		conn, err := f.connectRedis(ctx, quietStreams)
		if err != nil {
			cobra.CompDebugln("completing failed items: "+err.Error(), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer conn.Close()
		given := map[string]bool{}
		for _, a := range args[1:] {
			given[a] = true
		}
		var out []cobra.Completion
		err = queue.New(conn.Client, args[0]).Items(ctx, queue.Failed, queue.ListOptions{Limit: maxCompletedItems}, func(it *queue.ItemInfo) error {
			s := string(it.Value)
			if !given[s] && strings.HasPrefix(s, toComplete) && cell(s) == s && !strings.ContainsAny(s, " '\"\\") {
				given[s] = true
				out = append(out, s)
			}
			return nil
		})
		if err != nil {
			cobra.CompDebugln("completing failed items: "+err.Error(), false)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeJobs completes a command's first argument with the names of the
// Jobs this plugin made in the namespace.
func completeJobs(f *factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := completionContext(cmd)
		defer cancel()
		names, err := listJobs(ctx, f)
		if err != nil {
			cobra.CompDebugln("completing jobs: "+err.Error(), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return withPrefix(names, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

func listJobs(ctx context.Context, f *factory) ([]string, error) {
	ns, err := f.namespace()
	if err != nil {
		return nil, err
	}
	kube, err := f.kubeClient()
	if err != nil {
		return nil, err
	}
	selector := labels.SelectorFromSet(labels.Set{manifest.LabelManagedBy: manifest.ManagedByValue})
	jobs, err := kube.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(jobs.Items))
	for _, j := range jobs.Items {
		names = append(names, j.Name)
	}
	slices.Sort(names)
	return names, nil
}

// completeRunContainer completes run's --container: the containers of
// -f's Job when -f names a file (stdin cannot be read twice), else the
// generated worker's.
func completeRunContainer(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	name, _ := cmd.Flags().GetString("filename")
	switch name {
	case "":
		return withPrefix([]string{manifest.WorkerContainer}, toComplete), cobra.ShellCompDirectiveNoFileComp
	case "-":
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	data, err := os.ReadFile(name)
	if err != nil {
		cobra.CompDebugln("completing containers: "+err.Error(), false)
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	base, err := manifest.DecodeJob(name, data)
	if err != nil {
		cobra.CompDebugln("completing containers: "+err.Error(), false)
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return withPrefix(containerNames(&base.Job.Spec.Template.Spec, false), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeLogsContainer completes logs' --container: the containers of the
// JOB's pod template, its init containers too with --all-containers, as
// those are the ones logs reads.
func completeLogsContainer(f *factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := completionContext(cmd)
		defer cancel()
		job, err := factoryJob(ctx, f, args[0])
		if err != nil {
			cobra.CompDebugln("completing containers: "+err.Error(), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		all, _ := cmd.Flags().GetBool("all-containers")
		return withPrefix(containerNames(&job.Spec.Template.Spec, all), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// factoryJob is getJob with the namespace and client of f.
func factoryJob(ctx context.Context, f *factory, name string) (*batchv1.Job, error) {
	ns, err := f.namespace()
	if err != nil {
		return nil, err
	}
	kube, err := f.kubeClient()
	if err != nil {
		return nil, err
	}
	return getJob(ctx, kube, ns, name)
}

// containerNames are spec's containers, after its init containers if
// withInit, in the order of the spec.
func containerNames(spec *corev1.PodSpec, withInit bool) []string {
	var names []string
	if withInit {
		for _, c := range spec.InitContainers {
			names = append(names, c.Name)
		}
	}
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

func completionContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, completionTimeout)
}

func withPrefix(names []string, prefix string) []cobra.Completion {
	out := make([]cobra.Completion, 0, len(names))
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

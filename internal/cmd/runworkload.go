package cmd

import (
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/objpatch"
)

// workloadFlags are run's flags for real workloads: the user's own Job as
// the base (-f), patches for what no flag covers, the worker container,
// parallelism that follows the queue, and Kueue.
type workloadFlags struct {
	Filename       string
	Container      string
	PatchFiles     []string
	Patches        []string
	PatchType      string
	Parallelism    parallelism
	MaxParallelism int32
	Suspend        bool
	KueueQueue     string

	base    *manifest.UserJob
	patches []objpatch.Patch
}

func (w *workloadFlags) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&w.Filename, "filename", "f", "", "your own batch/v1 Job manifest to build on (- for stdin): run adds the queue's environment, labels and, with -- COMMAND, the worker; flags given explicitly override the file")
	fl.StringVarP(&w.Container, "container", "c", "", "the worker container: the one of -f's containers that works through the queue (default: its only one), or the name of the generated one (default "+manifest.WorkerContainer+")")
	fl.StringArrayVar(&w.PatchFiles, "patch-file", nil, "a patch (YAML or JSON) applied to the generated Job before it is printed or applied, as kubectl patch --patch-file (repeatable; in order, before --patch)")
	fl.StringArrayVar(&w.Patches, "patch", nil, "a patch given inline, as kubectl patch -p (repeatable)")
	fl.StringVar(&w.PatchType, "patch-type", string(objpatch.Strategic), "how the patches apply: strategic (merges containers, env, volumes by name), merge (RFC 7386: lists replaced whole) or json (RFC 6902 operations)")
	fl.VarP(&w.Parallelism, "parallelism", "p", "worker pods running at once, or auto: one per pending item, at most --max-parallelism; never more than the pending items")
	fl.Int32Var(&w.MaxParallelism, "max-parallelism", 0, "the most pods --parallelism auto starts")
	fl.BoolVar(&w.Suspend, "suspend", false, "create the Job suspended; it starts when spec.suspend is set to false (e.g. by Kueue)")
	fl.StringVar(&w.KueueQueue, "kueue-queue", "", "the Kueue LocalQueue that admits the Job (label "+manifest.LabelKueueQueue+"; the Job is created suspended)")
	_ = cmd.RegisterFlagCompletionFunc("patch-type", fixedCompletions("strategic", "merge", "json"))
	_ = cmd.RegisterFlagCompletionFunc("parallelism", fixedCompletions("auto"))
	_ = cmd.RegisterFlagCompletionFunc("container", completeRunContainer)
}

// complete reads the -f manifest and the patches, so that Validate can
// build the Job before anything touches the cluster.
func (w *workloadFlags) complete(stdin io.Reader) error {
	if w.Filename != "" {
		data, source, err := readManifest(w.Filename, stdin)
		if err != nil {
			return err
		}
		if w.base, err = manifest.DecodeJob(source, data); err != nil {
			return err
		}
	}
	typ, err := objpatch.ParseType(w.PatchType)
	if err != nil {
		return fmt.Errorf("--patch-type %w", err)
	}
	w.patches = nil
	for _, name := range w.PatchFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("--patch-file: %w", err)
		}
		w.patches = append(w.patches, objpatch.Patch{Source: name, Type: typ, Data: data})
	}
	for i, p := range w.Patches {
		source := "--patch"
		if len(w.Patches) > 1 {
			source += " #" + strconv.Itoa(i+1)
		}
		w.patches = append(w.patches, objpatch.Patch{Source: source, Type: typ, Data: []byte(p)})
	}
	return nil
}

func readManifest(name string, stdin io.Reader) (data []byte, source string, err error) {
	if name == "-" {
		data, err = io.ReadAll(stdin)
		if err != nil {
			return nil, "", fmt.Errorf("-f -: reading stdin: %w", err)
		}
		return data, "stdin", nil
	}
	data, err = os.ReadFile(name)
	if err != nil {
		return nil, "", fmt.Errorf("-f: %w", err)
	}
	return data, name, nil
}

func (w *workloadFlags) validate() error {
	switch {
	case w.Parallelism.auto && w.MaxParallelism < 1:
		return fmt.Errorf("--parallelism auto needs --max-parallelism M (at least 1): pods = min(M, pending items)")
	case !w.Parallelism.auto && w.MaxParallelism != 0:
		return fmt.Errorf("--max-parallelism %d: applies to --parallelism auto only", w.MaxParallelism)
	}
	return nil
}

// flagNames words the generator's field errors in run's flags, and names
// the -f file.
func (w *workloadFlags) flagNames() map[string]string {
	names := maps.Clone(jobOptionFlags)
	if w.base != nil {
		names["base"] = w.base.Source
	}
	return names
}

// parallelism is --parallelism: a number of pods, or "auto".
type parallelism struct {
	n    int32
	auto bool
}

func (p *parallelism) String() string {
	if p.auto {
		return "auto"
	}
	return strconv.Itoa(int(p.n))
}

func (p *parallelism) Set(s string) error {
	if strings.EqualFold(s, "auto") {
		p.auto = true
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("want a number of pods or auto")
	}
	p.n, p.auto = int32(n), false
	return nil
}

func (p *parallelism) Type() string { return "N|auto" }

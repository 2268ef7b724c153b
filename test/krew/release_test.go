package krew

import (
	"archive/tar"
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/version"
)

// The release's machinery, checked without the forge: GitHub Actions cannot
// run here, so these tests read the workflows, .goreleaser.yaml, .krew.yaml,
// the Makefile and build/worker/Dockerfile and check that they name the same
// things as each other and as the code. actionlint (make lint-ci) checks the
// workflows' syntax, expressions and scripts; goreleaser check its config.

var (
	goreleaserFile = filepath.Join(repoRoot, ".goreleaser.yaml")
	workflowsDir   = filepath.Join(repoRoot, ".github", "workflows")
	workerRecipe   = "build/worker/Dockerfile"
)

// goreleaserConfig is the part of .goreleaser.yaml (goreleaser v2) the tests read.
type goreleaserConfig struct {
	Before struct {
		Hooks []string `json:"hooks"`
	} `json:"before"`
	Builds   []goreleaserBuild `json:"builds"`
	Checksum struct {
		NameTemplate string `json:"name_template"`
		ExtraFiles   []struct {
			Glob string `json:"glob"`
		} `json:"extra_files"`
	} `json:"checksum"`
	DockersV2 []struct {
		IDs        []string `json:"ids"`
		Dockerfile string   `json:"dockerfile"`
		Images     []string `json:"images"`
		Tags       []string `json:"tags"`
		Platforms  []string `json:"platforms"`
	} `json:"dockers_v2"`
	Release struct {
		Prerelease string `json:"prerelease"`
		ExtraFiles []struct {
			Glob string `json:"glob"`
		} `json:"extra_files"`
	} `json:"release"`
}

type goreleaserBuild struct {
	ID      string   `json:"id"`
	Main    string   `json:"main"`
	Goos    []string `json:"goos"`
	Goarch  []string `json:"goarch"`
	Ldflags []string `json:"ldflags"`
}

// workflow is the part of a GitHub Actions workflow the tests read.
type workflow struct {
	Permissions any `json:"permissions"`
	Jobs        map[string]struct {
		Needs       any    `json:"needs"`
		If          string `json:"if"`
		Permissions any    `json:"permissions"`
		Steps       []step `json:"steps"`
	} `json:"jobs"`
	// "on" is YAML 1.1's true: sigs.k8s.io/yaml turns the key into "true".
	On map[string]any `json:"true"`
}

type step struct {
	Name string            `json:"name"`
	Uses string            `json:"uses"`
	Run  string            `json:"run"`
	With map[string]string `json:"with"`
}

func readYAML(t *testing.T, file string, into any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func readGoreleaser(t *testing.T) goreleaserConfig {
	var c goreleaserConfig
	readYAML(t, goreleaserFile, &c)
	return c
}

func readWorkflows(t *testing.T) map[string]workflow {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(workflowsDir, "*.y*ml"))
	wfs := map[string]workflow{}
	for _, f := range files {
		var wf workflow
		readYAML(t, f, &wf)
		wfs[filepath.Base(f)] = wf
	}
	for _, want := range []string{"ci.yaml", "release.yaml"} {
		if _, ok := wfs[want]; !ok {
			t.Fatalf("%s: no %s (have %v)", workflowsDir, want, slices.Sorted(maps.Keys(wfs)))
		}
	}
	return wfs
}

// steps are a workflow's steps, by job, number and name.
func (wf workflow) steps() map[string]step {
	out := map[string]step{}
	for job, j := range wf.Jobs {
		for i, s := range j.Steps {
			out[fmt.Sprintf("job %s, step %d (%s)", job, i+1, cmp.Or(s.Name, s.Uses))] = s
		}
	}
	return out
}

// goreleaserTemplate renders one of .goreleaser.yaml's templates for a tag,
// with the fields it uses.
func goreleaserTemplate(t *testing.T, tmpl, tag string) string {
	t.Helper()
	pre := ""
	if _, p, ok := strings.Cut(strings.TrimPrefix(tag, "v"), "-"); ok {
		pre = p
	}
	tp, err := template.New("").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		t.Fatalf("%q: %v", tmpl, err)
	}
	var b bytes.Buffer
	if err := tp.Execute(&b, map[string]string{"Tag": tag, "Prerelease": pre}); err != nil {
		t.Fatalf("%q: %v", tmpl, err)
	}
	return b.String()
}

// makeVar is a variable's default in the Makefile (VAR ?= value).
func makeVar(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + ` \?= (.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("Makefile: no %s ?= ...", name)
	}
	return string(m[1])
}

// The image the release pushes for tag vX.Y.Z is the image that the plugin
// of vX.Y.Z injects for `run -- COMMAND`: same repository, same tag.
func TestReleasePushesTheWorkerImageRunInjects(t *testing.T) {
	c := readGoreleaser(t)
	if len(c.DockersV2) != 1 {
		t.Fatalf(".goreleaser.yaml: %d dockers_v2 images, want the worker's only", len(c.DockersV2))
	}
	d := c.DockersV2[0]
	if !reflect.DeepEqual(d.Images, []string{version.WorkerImageRepo}) {
		t.Errorf(".goreleaser.yaml pushes %v; run injects %s:<version> (internal/version.WorkerImageRepo)", d.Images, version.WorkerImageRepo)
	}
	if d.Dockerfile != workerRecipe {
		t.Errorf(".goreleaser.yaml builds the image from %s, not the worker's one recipe %s", d.Dockerfile, workerRecipe)
	}
	for tag, want := range map[string][]string{"v1.2.3": {"v1.2.3", "latest"}, "v1.3.0-rc.1": {"v1.3.0-rc.1"}} {
		var got []string
		for _, tmpl := range d.Tags {
			if s := goreleaserTemplate(t, tmpl, tag); s != "" {
				got = append(got, s)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("release %s pushes the image tags %v, want %v", tag, got, want)
		}
	}

	// The worker binaries in the image: every platform the image has, built
	// with the linker flags the Makefile spells out (the hook writes them).
	var worker *goreleaserBuild
	for i := range c.Builds {
		if slices.Contains(d.IDs, c.Builds[i].ID) {
			worker = &c.Builds[i]
		}
	}
	if worker == nil || worker.Main != "./cmd/workqueue-worker" {
		t.Fatalf("the image's builds %v are not ./cmd/workqueue-worker's", d.IDs)
	}
	var plats []string
	for _, goos := range worker.Goos {
		for _, goarch := range worker.Goarch {
			plats = append(plats, goos+"/"+goarch)
		}
	}
	if !reflect.DeepEqual(plats, d.Platforms) {
		t.Errorf("the image is for %v, the worker is built for %v", d.Platforms, plats)
	}
	hook := `sh -c "make -s --no-print-directory ldflags VERSION={{ .Tag }} > _output/ldflags"`
	if !slices.Contains(c.Before.Hooks, hook) || !reflect.DeepEqual(worker.Ldflags, []string{`{{ mustReadFile "_output/ldflags" }}`}) {
		t.Errorf("the worker's ldflags %q are not the Makefile's (before hook %s)", worker.Ldflags, hook)
	}

	// The plugin: the archive make dist builds for the tag (the release's
	// hook runs make dist VERSION={{ .Tag }}) injects <repo>:<tag>.
	if !slices.Contains(c.Before.Hooks, "make dist VERSION={{ .Tag }} DIST_DIR=_output/release") {
		t.Errorf("before hooks %q: the plugin's archives must be make dist's, stamped with the tag", c.Before.Hooks)
	}
	dir := dist(t)
	bin := filepath.Join(t.TempDir(), "kubectl-workqueue")
	if err := extract(mustRead(t, filepath.Join(dir, archiveName())), filepath.Dir(bin)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "q", "--image", "busybox:1.36", "--dry-run=client",
		"-o", "jsonpath={.spec.template.spec.initContainers[0].image}", "--", "true")
	cmd.Env = kubectlEnv(t, t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	if want := d.Images[0] + ":" + goreleaserTemplate(t, d.Tags[0], testVersion); string(out) != want {
		t.Errorf("the plugin of release %s injects %q, the release pushes %q", testVersion, out, want)
	}
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The archives a release uploads (make dist's, through goreleaser) are the
// ones the krew template downloads, for the platforms the Makefile builds,
// and sha256sums.txt covers them.
func TestReleaseUploadsTheArchivesKrewDownloads(t *testing.T) {
	const tag = "v9.8.7"
	var krew []string
	rendered, err := parsePlugin(renderTemplate(t, krewTemplate, tag, func(string) string { return strings.Repeat("0", 64) }))
	if err != nil {
		t.Fatal(err)
	}
	prefix := "https://github.com/kubectl-workqueue/kubectl-workqueue/releases/download/" + tag + "/"
	for _, pl := range rendered.Spec.Platforms {
		name, ok := strings.CutPrefix(pl.URI, prefix)
		if !ok {
			t.Errorf(".krew.yaml downloads %s, not a file of release %s (%s)", pl.URI, tag, prefix)
		}
		krew = append(krew, name)
	}

	var built []string
	for _, p := range strings.Fields(makeVar(t, "DIST_PLATFORMS")) {
		goos, goarch, _ := strings.Cut(p, "/")
		built = append(built, path.Base(releaseURI(tag, goos, goarch)))
	}
	slices.Sort(krew)
	slices.Sort(built)
	if !reflect.DeepEqual(krew, built) {
		t.Errorf(".krew.yaml downloads %v; make dist (DIST_PLATFORMS) builds %v", krew, built)
	}
	var want [][2]string
	for _, p := range strings.Fields(makeVar(t, "DIST_PLATFORMS")) {
		goos, goarch, _ := strings.Cut(p, "/")
		want = append(want, [2]string{goos, goarch})
	}
	if !reflect.DeepEqual(want, releasePlatforms) {
		t.Errorf("Makefile DIST_PLATFORMS %v, the tests' release platforms %v", want, releasePlatforms)
	}
	if m := regexp.MustCompile(`DIST_PLATFORMS=\$\{DIST_PLATFORMS:-([^}]*)\}`).FindSubmatch(mustRead(t, filepath.Join(repoRoot, "hack", "dist", "dist.sh"))); m == nil ||
		string(m[1]) != makeVar(t, "DIST_PLATFORMS") {
		t.Errorf("hack/dist/dist.sh's default platforms differ from the Makefile's DIST_PLATFORMS %q", makeVar(t, "DIST_PLATFORMS"))
	}

	// goreleaser uploads, and sums, what make dist wrote into _output/release.
	c := readGoreleaser(t)
	globs := func(fs []struct {
		Glob string `json:"glob"`
	}) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Glob)
		}
		return out
	}
	uploaded, summed := globs(c.Release.ExtraFiles), globs(c.Checksum.ExtraFiles)
	if !reflect.DeepEqual(uploaded, summed) {
		t.Errorf("the release uploads %v but sha256sums.txt covers %v", uploaded, summed)
	}
	for _, name := range append(built, "workqueue.yaml") {
		if !slices.ContainsFunc(uploaded, func(g string) bool { ok, _ := filepath.Match(g, "_output/release/"+name); return ok }) {
			t.Errorf("the release does not upload %s (extra_files %v)", name, uploaded)
		}
	}
	if c.Checksum.NameTemplate != "sha256sums.txt" || c.Release.Prerelease != "auto" {
		t.Errorf("checksum %q, prerelease %q: want sha256sums.txt, auto", c.Checksum.NameTemplate, c.Release.Prerelease)
	}

	// What the workflows name: the template the bot submits, the archive and
	// image the snapshot job checks, the tags that trigger a release.
	wfs := readWorkflows(t)
	var bot []step
	for name, s := range wfs["release.yaml"].steps() {
		if strings.HasPrefix(s.Uses, "rajatjindal/krew-release-bot@") {
			bot = append(bot, s)
			if s.With["krew_template_file"] != ".krew.yaml" {
				t.Errorf("release.yaml %s: krew_template_file %q, want .krew.yaml", name, s.With["krew_template_file"])
			}
		}
	}
	if len(bot) != 1 {
		t.Errorf("release.yaml runs krew-release-bot %d times, want once", len(bot))
	}
	if tags := fmt.Sprint(wfs["release.yaml"].On["push"]); tags != "map[tags:[v*]]" {
		t.Errorf("release.yaml runs on push %s, want tags v*", tags)
	}
	archive := regexp.MustCompile(`kubectl-workqueue_[a-z0-9]+_[a-z0-9]+\.(tar\.gz|zip)`)
	image := regexp.MustCompile(`ghcr\.io/[a-z0-9/_.-]+`)
	for file, wf := range wfs {
		for name, s := range wf.steps() {
			for _, a := range archive.FindAllString(s.Run, -1) {
				if !slices.Contains(built, a) {
					t.Errorf("%s %s: names %s, which no release has (%v)", file, name, a, built)
				}
			}
			for _, img := range image.FindAllString(s.Run, -1) {
				if img != version.WorkerImageRepo {
					t.Errorf("%s %s: names the image %s, which is not %s", file, name, img, version.WorkerImageRepo)
				}
			}
		}
	}
}

// Every action is pinned to a full version (dependabot moves them), setup-go
// takes go.mod's Go, goreleaser is .tool-versions' one, and only the release
// job may write: to the repository's releases and to its packages.
func TestWorkflowsPinActionsAndGrantLeastPermissions(t *testing.T) {
	pinned := regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@v\d+\.\d+\.\d+$`)
	for file, wf := range readWorkflows(t) {
		if perms := fmt.Sprint(wf.Permissions); perms != "map[]" && perms != "map[contents:read]" {
			t.Errorf("%s: workflow permissions %s: want none or contents: read, and more only in the job that needs it", file, perms)
		}
		for job, j := range wf.Jobs {
			perms := fmt.Sprint(j.Permissions)
			switch {
			case file == "release.yaml" && job == "release":
				if perms != "map[contents:write packages:write]" {
					t.Errorf("%s job %s: permissions %s, want contents: write, packages: write", file, job, perms)
				}
			case perms != "<nil>" && perms != "map[contents:read]":
				t.Errorf("%s job %s: permissions %s: only the release job may write", file, job, perms)
			}
		}
		for name, s := range wf.steps() {
			if s.Uses == "" {
				continue
			}
			if !pinned.MatchString(s.Uses) {
				t.Errorf("%s %s: uses %s: pin the action to a version, vX.Y.Z", file, name, s.Uses)
			}
			switch action, _, _ := strings.Cut(s.Uses, "@"); action {
			case "actions/setup-go":
				if s.With["go-version-file"] != "go.mod" {
					t.Errorf("%s %s: setup-go must take go.mod's Go (go-version-file: go.mod): the archives' sha256 depend on it", file, name)
				}
			case "goreleaser/goreleaser-action":
				if s.With["version-file"] != ".tool-versions" || s.With["version"] != "" {
					t.Errorf("%s %s: goreleaser must be the one of .tool-versions (version-file: .tool-versions)", file, name)
				}
			}
		}
	}

	var dependabot struct {
		Updates []struct {
			Ecosystem string `json:"package-ecosystem"`
			Directory string `json:"directory"`
		} `json:"updates"`
	}
	readYAML(t, filepath.Join(repoRoot, ".github", "dependabot.yml"), &dependabot)
	var got []string
	for _, u := range dependabot.Updates {
		got = append(got, u.Ecosystem+" "+u.Directory)
	}
	if want := []string{"gomod /", "github-actions /"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dependabot updates %v, want %v", got, want)
	}
}

// imageArchive is what build/worker/build-image.sh --out wrote.
type imageArchive struct {
	arch, user string
	entrypoint []string
	files      map[string][]byte // regular files of the layer, by path
}

func readImageArchive(t *testing.T, file string) imageArchive {
	t.Helper()
	entries := tarFiles(t, mustRead(t, file))
	var m []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &m); err != nil || len(m) != 1 || len(m[0].Layers) != 1 {
		t.Fatalf("%s: manifest.json %s: %v", file, entries["manifest.json"], err)
	}
	var cfg struct {
		Architecture string
		Config       struct {
			User       string
			Entrypoint []string
		}
	}
	if err := json.Unmarshal(entries[m[0].Config], &cfg); err != nil {
		t.Fatal(err)
	}
	img := imageArchive{arch: cfg.Architecture, user: cfg.Config.User, entrypoint: cfg.Config.Entrypoint, files: map[string][]byte{}}
	for name, b := range tarFiles(t, entries[m[0].Layers[0]]) {
		img.files["/"+name] = b
	}
	return img
}

// tarFiles are the regular files of a tar archive, by cleaned path.
func tarFiles(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if files[path.Clean(h.Name)], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// buildImage runs build/worker/build-image.sh --out for one platform.
func buildImage(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image.tar")
	cmd := exec.Command(filepath.Join(repoRoot, "build", "worker", "build-image.sh"), append(args, "--out", out)...)
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v: %v\n%s", cmd.Args, err, b)
	}
	return out, nil
}

// The worker image built without Docker from build/worker/Dockerfile, for
// each platform of the release, is what `run -- COMMAND` expects of it: the
// binary of that platform at manifest.WorkerImageBinary, stamped with the
// version, run as manifest.WorkerUID.
func TestWorkerImageRecipeBuildsWhatRunExpects(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the worker for two platforms")
	}
	if runtime.GOOS != "linux" {
		t.Skip("build-image.sh needs GNU tar")
	}
	const tag = "v0.0.0-imagetest"
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, plat := range readGoreleaser(t).DockersV2[0].Platforms {
		arch := strings.TrimPrefix(plat, "linux/")
		file, err := buildImage(t, []string{"VERSION=" + tag}, "--tag", version.WorkerImageRepo+":"+tag, "--platform", plat)
		if err != nil {
			t.Fatal(err)
		}
		img := readImageArchive(t, file)
		uid := fmt.Sprint(manifest.WorkerUID)
		if img.arch != arch || img.user != uid+":"+uid || !reflect.DeepEqual(img.entrypoint, []string{manifest.WorkerImageBinary}) {
			t.Errorf("%s: architecture %q, user %q, entrypoint %q; want %s, %s:%s, [%s]", plat, img.arch, img.user, img.entrypoint,
				arch, uid, uid, manifest.WorkerImageBinary)
		}
		bin, ok := img.files[manifest.WorkerImageBinary]
		if len(img.files) != 1 || !ok {
			t.Fatalf("%s: files %v, want only %s", plat, slices.Sorted(maps.Keys(img.files)), manifest.WorkerImageBinary)
		}
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil || f.Machine != machines[arch] {
			t.Errorf("%s: %s is not a %s executable (%v)", plat, manifest.WorkerImageBinary, arch, err)
		}
		if !bytes.Contains(bin, []byte(tag)) {
			t.Errorf("%s: the worker binary is not stamped with %s", plat, tag)
		}
		if arch == runtime.GOARCH {
			exe := filepath.Join(t.TempDir(), "workqueue-worker")
			if err := os.WriteFile(exe, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(exe, "--version").Output(); err != nil || strings.TrimSpace(string(out)) != tag {
				t.Errorf("%s: workqueue-worker --version: %q, %v; want %s", plat, out, err, tag)
			}
		}
	}
}

// build-image.sh carries out the Dockerfile without Docker only as far as
// it understands it: a step it does not know fails the build, instead of
// making an image the release's would differ from.
func TestWorkerImageBuildRefusesStepsItCannotCarryOut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the worker")
	}
	recipe := string(mustRead(t, filepath.Join(repoRoot, workerRecipe)))
	for _, change := range [][2]string{
		{"FROM scratch", "FROM debian:bookworm"},
		{"USER 65532:65532", "RUN adduser worker\nUSER 65532:65532"},
		{`ENTRYPOINT ["/workqueue-worker"]`, "ENTRYPOINT /workqueue-worker"},
		{"COPY $TARGETPLATFORM/workqueue-worker /workqueue-worker", "COPY --chmod=0755 $TARGETPLATFORM/workqueue-worker /workqueue-worker"},
	} {
		if !strings.Contains(recipe, change[0]) {
			t.Fatalf("%s has no %q", workerRecipe, change[0])
		}
		dockerfile := filepath.Join(t.TempDir(), "Dockerfile")
		if err := os.WriteFile(dockerfile, []byte(strings.Replace(recipe, change[0], change[1], 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := buildImage(t, nil, "--tag", "x:v1", "--file", dockerfile)
		if err == nil || !strings.Contains(err.Error(), strings.Fields(change[1])[0]) {
			t.Errorf("%q instead of %q: %v; want an error naming it", change[1], change[0], err)
		}
	}
}

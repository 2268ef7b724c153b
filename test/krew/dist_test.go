package krew

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testVersion is stamped into the archive the tests build; it is a valid
// krew version, so the manifest keeps it as is.
const testVersion = "v0.0.0-krewtest"

// hostPlatform is the one platform the tests build: the one they can run.
var hostPlatform = runtime.GOOS + "/" + runtime.GOARCH

var (
	distOnce sync.Once
	distDir  string
	distErr  error
	tmpRoot  string
)

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "krew-test"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// runDist runs hack/dist/dist.sh, as `make dist DIST_PLATFORMS=<host>` does,
// into dir, with version stamped in.
func runDist(dir, version string) error {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "dist", "dist.sh"))
	cmd.Env = append(os.Environ(), "VERSION="+version, "DIST_PLATFORMS="+hostPlatform, "DIST_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("hack/dist/dist.sh: %v\n%s", err, out)
	}
	return nil
}

// dist builds the host's archive and manifest once for all tests.
func dist(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds a release archive (10-20 s, minutes with a cold build cache)")
	}
	if !slices.Contains(releasePlatforms, [2]string{runtime.GOOS, runtime.GOARCH}) {
		t.Skipf("%s is not a release platform", hostPlatform)
	}
	distOnce.Do(func() {
		distDir = filepath.Join(tmpRoot, "dist")
		distErr = runDist(distDir, testVersion)
	})
	if distErr != nil {
		t.Fatal(distErr)
	}
	return distDir
}

func archiveName() string {
	if runtime.GOOS == "windows" {
		return "kubectl-workqueue_windows_" + runtime.GOARCH + ".zip"
	}
	return "kubectl-workqueue_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestDistManifestFollowsKrewRulesWithTheArchivesRealSHA256(t *testing.T) {
	dir := dist(t)
	p, err := validateManifestFile(filepath.Join(dir, "workqueue.yaml"))
	if err != nil {
		t.Fatalf("dist/workqueue.yaml: %v", err)
	}
	if p.Spec.Version != testVersion {
		t.Errorf("version %q, want %q", p.Spec.Version, testVersion)
	}
	// Only the platforms built are in it, with the release URL of VERSION,
	// so that --archive gives krew the file.
	checkReleasePlatforms(t, p, testVersion, [][2]string{{runtime.GOOS, runtime.GOARCH}})

	archive := filepath.Join(dir, archiveName())
	sum := sha256File(t, archive)
	pl, _ := platformFor(p, runtime.GOOS, runtime.GOARCH)
	if pl.Sha256 != sum {
		t.Errorf("manifest sha256 %s, archive has %s", pl.Sha256, sum)
	}
	sums, err := os.ReadFile(filepath.Join(dir, "sha256sums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := sum + "  " + archiveName() + "\n"; string(sums) != want {
		t.Errorf("sha256sums.txt = %q, want %q", sums, want)
	}

	// The archive holds bin, LICENSE, README.md and kubectl's completion
	// executable, at its top, with the modes krew keeps.
	entries, err := archiveEntries(archive)
	if err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{pl.Bin: 0o755, "kubectl_complete-workqueue": 0o755, "LICENSE": 0o644, "README.md": 0o644} {
		if got, ok := entries[name]; !ok {
			t.Errorf("%s lacks %s: it has %v", archive, name, entries)
		} else if got.Perm() != mode {
			t.Errorf("%s: %s has mode %v, want %v", archive, name, got.Perm(), mode)
		}
	}
	for _, f := range pl.Files {
		if _, ok := entries[f.From]; !ok {
			t.Errorf("files: %s is not in the archive", f.From)
		}
	}
}

// The same sources and VERSION give the same bytes, so a sha256 computed
// once can be checked by anyone who builds the tag again.
func TestDistArchivesAreReproducible(t *testing.T) {
	first := dist(t)
	again := filepath.Join(tmpRoot, "dist-again")
	if err := runDist(again, testVersion); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sha256sums.txt", "workqueue.yaml", archiveName()} {
		a, _ := os.ReadFile(filepath.Join(first, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of the same sources", f)
		}
	}
}

// kubectlEnv is the environment kubectl runs in: binDir first on PATH and
// an empty kubeconfig, so nothing of the machine's own setup takes part.
//
// /usr/bin/kubectl on these machines is the Google Cloud SDK's dispatcher,
// which picks a kubectl.1.xx by the server's version; with no cluster it
// runs its default one, which finds and runs plugins as any kubectl does.
func kubectlEnv(t *testing.T, binDir string) []string {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"), "KUBECONFIG=" + kubeconfig}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "KUBECONFIG=") {
			env = append(env, kv)
		}
	}
	return env
}

func kubectl(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	path, lerr := exec.LookPath("kubectl")
	if lerr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubectl is required in CI: %v", lerr)
		}
		t.Skipf("kubectl not installed: %v", lerr)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func TestInstallLikeKrewThenRunThroughKubectl(t *testing.T) {
	dir := dist(t)
	p, err := readPlugin(filepath.Join(dir, "workqueue.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pl, ok := platformFor(p, runtime.GOOS, runtime.GOARCH)
	if !ok {
		t.Fatalf("no platform for %s", hostPlatform)
	}
	// kubectl krew install --manifest=dist/workqueue.yaml --archive=dist/<archive>
	krewRoot := t.TempDir()
	link, err := install(p, pl, filepath.Join(dir, archiveName()), krewRoot)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	for _, f := range pl.Files {
		if _, err := os.Stat(filepath.Join(krewRoot, "store", "workqueue", testVersion, f.From)); err != nil {
			t.Errorf("installed files: %v", err)
		}
	}
	binDir := filepath.Dir(link)
	env := kubectlEnv(t, binDir)

	// kubectl finds the plugin ...
	out, errOut, _ := kubectl(t, env, "plugin", "list") // non-zero when other plugins on PATH warn
	if !strings.Contains(out, link) {
		t.Errorf("kubectl plugin list does not list %s:\n%s%s", link, out, errOut)
	}
	// ... and runs it, with the version the archive was stamped with.
	out, errOut, err = kubectl(t, env, "workqueue", "version")
	if err != nil {
		t.Fatalf("kubectl workqueue version: %v\n%s", err, errOut)
	}
	if want := fmt.Sprintf("kubectl-workqueue %s %s\n", testVersion, hostPlatform); out != want {
		t.Errorf("kubectl workqueue version = %q, want %q", out, want)
	}

	// Completion: the plugin writes kubectl_complete-workqueue next to
	// itself on PATH (krew's bin), and kubectl (1.26+) then completes
	// `kubectl workqueue <TAB>` through it.
	out, errOut, err = kubectl(t, env, "workqueue", "completion", "kubectl", "--install")
	if err != nil {
		t.Fatalf("kubectl workqueue completion kubectl --install: %v\n%s", err, errOut)
	}
	script := filepath.Join(binDir, "kubectl_complete-workqueue")
	if !strings.Contains(out, script) {
		t.Errorf("completion kubectl --install: %q, want it to name %s", out, script)
	}
	out, errOut, err = kubectl(t, env, "__complete", "workqueue", "")
	if err != nil {
		t.Fatalf("kubectl __complete workqueue: %v\n%s", err, errOut)
	}
	for _, sub := range []string{"status", "seed", "completion", "version"} {
		if !strings.Contains(out, "\n"+sub+"\t") && !strings.HasPrefix(out, sub+"\t") {
			t.Errorf("kubectl workqueue <TAB> does not offer %s:\n%s%s", sub, out, errOut)
		}
	}
	out, _, _ = kubectl(t, env, "__complete", "workqueue", "completion", "")
	if !strings.Contains(out, "kubectl\n") {
		t.Errorf("kubectl workqueue completion <TAB> does not offer kubectl:\n%s", out)
	}
}

// At the release tag the committed manifest pins the sha256 of the archives
// this tree builds (make krew-manifest, hack/dist/RELEASING.md). Elsewhere
// the sources have moved on since, and the test runs only when asked with
// KREW_VERIFY_RELEASE=1. It rebuilds the host's archive; the others come
// from the same sources and toolchain.
func TestCommittedManifestPinsThisTreesArchive(t *testing.T) {
	p, err := readPlugin(committedManifest)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := exec.Command("git", "-C", repoRoot, "describe", "--tags", "--exact-match", "HEAD").Output()
	atTag := strings.TrimSpace(string(tag)) == p.Spec.Version
	if !atTag && os.Getenv("KREW_VERIFY_RELEASE") != "1" {
		t.Skipf("HEAD is not tagged %s; KREW_VERIFY_RELEASE=1 checks the pinned sha256 anyway", p.Spec.Version)
	}
	if testing.Short() {
		t.Skip("-short: builds a release archive")
	}
	if !slices.Contains(releasePlatforms, [2]string{runtime.GOOS, runtime.GOARCH}) {
		t.Skipf("%s is not a release platform", hostPlatform)
	}
	dir := filepath.Join(tmpRoot, "dist-release")
	if err := runDist(dir, p.Spec.Version); err != nil {
		t.Fatal(err)
	}
	pl, _ := platformFor(p, runtime.GOOS, runtime.GOARCH)
	if got := sha256File(t, filepath.Join(dir, archiveName())); got != pl.Sha256 {
		t.Errorf("%s pins %s for %s, this tree builds %s: run make krew-manifest VERSION=%s (and release with the Go of go.mod)",
			committedManifest, pl.Sha256, archiveName(), got, p.Spec.Version)
	}
}

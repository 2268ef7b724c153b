package krew

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const repoRoot = "../.."

var (
	committedManifest = filepath.Join(repoRoot, "plugins", "workqueue.yaml")
	krewTemplate      = filepath.Join(repoRoot, ".krew.yaml")
)

// releasePlatforms are the os/arch pairs every release ships.
var releasePlatforms = [][2]string{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// releaseURI is where a release's archive for goos/goarch is downloaded from.
func releaseURI(tag, goos, goarch string) string {
	ext := "tar.gz"
	if goos == "windows" {
		ext = "zip"
	}
	return fmt.Sprintf("https://github.com/kubectl-workqueue/kubectl-workqueue/releases/download/%s/kubectl-workqueue_%s_%s.%s", tag, goos, goarch, ext)
}

// checkReleasePlatforms checks that p offers exactly the release platforms,
// each with its release archive, bin, and the files krew must install.
func checkReleasePlatforms(t *testing.T, p *Plugin, tag string, want [][2]string) {
	t.Helper()
	if len(p.Spec.Platforms) != len(want) {
		t.Errorf("%d platforms, want %d (%v)", len(p.Spec.Platforms), len(want), want)
	}
	for _, osArch := range want {
		goos, goarch := osArch[0], osArch[1]
		pl, ok := platformFor(p, goos, goarch)
		if !ok {
			t.Errorf("no platform for %s/%s", goos, goarch)
			continue
		}
		if u := releaseURI(tag, goos, goarch); pl.URI != u {
			t.Errorf("%s/%s: uri %s, want %s", goos, goarch, pl.URI, u)
		}
		bin, script := "kubectl-workqueue", "kubectl_complete-workqueue"
		if goos == "windows" {
			bin, script = bin+".exe", script+".cmd"
		}
		if pl.Bin != bin {
			t.Errorf("%s/%s: bin %q, want %q", goos, goarch, pl.Bin, bin)
		}
		var from []string
		for _, f := range pl.Files {
			from = append(from, f.From)
		}
		for _, f := range []string{bin, script, "LICENSE"} {
			if pl.Files != nil && !slices.Contains(from, f) {
				t.Errorf("%s/%s: files %v do not install %s", goos, goarch, from, f)
			}
		}
	}
}

func TestCommittedManifestFollowsKrewRules(t *testing.T) {
	p, err := validateManifestFile(committedManifest)
	if err != nil {
		t.Fatalf("%s: %v", committedManifest, err)
	}
	checkReleasePlatforms(t, p, p.Spec.Version, releasePlatforms)
	if p.Spec.Homepage != "https://github.com/kubectl-workqueue/kubectl-workqueue" {
		t.Errorf("homepage %q", p.Spec.Homepage)
	}
	for _, want := range []string{"kubectl workqueue init", "docs/rbac.yaml"} {
		if !strings.Contains(p.Spec.Caveats, want) {
			t.Errorf("caveats do not mention %q:\n%s", want, p.Spec.Caveats)
		}
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "docs", "rbac.yaml")); err != nil {
		t.Errorf("the caveats point at docs/rbac.yaml: %v", err)
	}
}

// renderTemplate renders the krew-release-bot template file for tag as the
// bot does (rajatjindal/krew-release-bot, pkg/source/template.go):
// addURIAndSha renders its URL as a template of its own and writes the uri
// and, indented for a platform entry, the archive's sha256, which the bot
// downloads and shaFor makes up here.
func renderTemplate(t *testing.T, file, tag string, shaFor func(uri string) string) []byte {
	t.Helper()
	funcs := template.FuncMap{
		"indent": func(spaces int, v string) string {
			v = strings.ReplaceAll(v, "    sha256:", "sha256:")
			pad := strings.Repeat(" ", spaces)
			return strings.TrimSpace(pad + strings.ReplaceAll(v, "\n", "\n"+pad))
		},
		"addURIAndSha": func(url, tag string) string {
			var b bytes.Buffer
			tmpl := template.Must(template.New("url").Parse(url))
			if err := tmpl.Execute(&b, struct{ TagName, Version string }{tag, strings.TrimPrefix(tag, "v")}); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", b.String(), shaFor(b.String()))
		},
	}
	tmpl, err := template.New(filepath.Base(file)).Funcs(funcs).ParseFiles(file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, struct{ TagName string }{tag}); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return out.Bytes()
}

// The committed manifest is the template rendered for its release: the
// two never say different things.
func TestKrewTemplateRendersTheCommittedManifest(t *testing.T) {
	committed, err := os.ReadFile(committedManifest)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePlugin(committed)
	if err != nil {
		t.Fatal(err)
	}
	shas := map[string]string{}
	for _, pl := range p.Spec.Platforms {
		shas[pl.URI] = pl.Sha256
	}
	got := renderTemplate(t, krewTemplate, p.Spec.Version, func(uri string) string {
		sha, ok := shas[uri]
		if !ok {
			t.Errorf(".krew.yaml names %s, which %s does not", uri, committedManifest)
		}
		return sha
	})
	if !bytes.Equal(got, committed) {
		t.Errorf(".krew.yaml rendered for %s differs from %s (regenerate it: make krew-manifest VERSION=%s):\n%s",
			p.Spec.Version, committedManifest, p.Spec.Version, lineDiff(string(committed), string(got)))
	}
}

// A release of any tag publishes the same plugin as the committed manifest,
// with the tag's version and archives.
func TestKrewTemplateForANewTagDescribesTheSamePlugin(t *testing.T) {
	committed, err := readPlugin(committedManifest)
	if err != nil {
		t.Fatal(err)
	}
	const tag = "v9.8.7"
	fakeSHA := func(uri string) string {
		sum := sha256.Sum256([]byte(uri))
		return hex.EncodeToString(sum[:])
	}
	rendered, err := parsePlugin(renderTemplate(t, krewTemplate, tag, fakeSHA))
	if err != nil {
		t.Fatal(err)
	}
	if err := validatePlugin("workqueue", rendered); err != nil {
		t.Fatalf(".krew.yaml rendered for %s: %v", tag, err)
	}
	if rendered.Spec.Version != tag {
		t.Errorf("version %q, want %q", rendered.Spec.Version, tag)
	}
	checkReleasePlatforms(t, rendered, tag, releasePlatforms)

	// Everything but the version, uris and sha256 is the committed manifest's.
	want := *committed
	want.Spec.Version = tag
	want.Spec.Platforms = nil
	for _, pl := range committed.Spec.Platforms {
		pl.URI = strings.Replace(pl.URI, "/download/"+committed.Spec.Version+"/", "/download/"+tag+"/", 1)
		pl.Sha256 = fakeSHA(pl.URI)
		want.Spec.Platforms = append(want.Spec.Platforms, pl)
	}
	if !reflect.DeepEqual(*rendered, want) {
		t.Errorf(".krew.yaml rendered for %s and %s describe different plugins:\n%s", tag, committedManifest,
			lineDiff(fmt.Sprintf("%+v", want), fmt.Sprintf("%+v", *rendered)))
	}
}

// The rules must catch what krew rejects, or the tests above prove nothing.
func TestRulesRejectWhatKrewRejects(t *testing.T) {
	valid := func() *Plugin {
		p, err := readPlugin(committedManifest)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := validatePlugin("workqueue", valid()); err != nil {
		t.Fatalf("the committed manifest: %v", err)
	}
	for name, breakIt := range map[string]func(p *Plugin){
		"name differs from the file": func(p *Plugin) { p.Metadata.Name = "work-queue" },
		"wrong apiVersion":           func(p *Plugin) { p.APIVersion = "krew.googlecontainertools.github.com/v1alpha1" },
		"version without v":          func(p *Plugin) { p.Spec.Version = strings.TrimPrefix(p.Spec.Version, "v") },
		"version not semver":         func(p *Plugin) { p.Spec.Version = "v1.2" },
		"no shortDescription":        func(p *Plugin) { p.Spec.ShortDescription = "" },
		"multi-line shortDescription": func(p *Plugin) {
			p.Spec.ShortDescription = "two\nlines"
		},
		"no description":            func(p *Plugin) { p.Spec.Description = "" },
		"long description line":     func(p *Plugin) { p.Spec.Description += strings.Repeat("word ", 20) },
		"no platforms":              func(p *Plugin) { p.Spec.Platforms = nil },
		"upper-case sha256":         func(p *Plugin) { p.Spec.Platforms[0].Sha256 = strings.ToUpper(p.Spec.Platforms[0].Sha256) },
		"short sha256":              func(p *Plugin) { p.Spec.Platforms[0].Sha256 = p.Spec.Platforms[0].Sha256[:63] },
		"no uri":                    func(p *Plugin) { p.Spec.Platforms[0].URI = "" },
		"uri not an archive":        func(p *Plugin) { p.Spec.Platforms[0].URI += ".exe" },
		"no bin":                    func(p *Plugin) { p.Spec.Platforms[0].Bin = "" },
		"no selector":               func(p *Plugin) { p.Spec.Platforms[0].Selector = nil },
		"empty selector":            func(p *Plugin) { p.Spec.Platforms[0].Selector = &metav1.LabelSelector{} },
		"selector on another label": func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["distro"] = "debian" },
		"selector matching nothing": func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["os"] = "plan9" },
		"empty files":               func(p *Plugin) { p.Spec.Platforms[0].Files = []FileOperation{} },
		"file operation without to": func(p *Plugin) { p.Spec.Platforms[0].Files[0].To = "" },
		"overlapping selectors": func(p *Plugin) {
			p.Spec.Platforms = append(p.Spec.Platforms, p.Spec.Platforms[0])
		},
		"os-only selector overlapping": func(p *Plugin) {
			delete(p.Spec.Platforms[0].Selector.MatchLabels, "arch")
		},
	} {
		p := valid()
		breakIt(p)
		if err := validatePlugin("workqueue", p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parsePlugin([]byte("apiVersion: krew.googlecontainertools.github.com/v1alpha2\nkind: Plugin\nspec:\n  shortDescriptoin: typo\n")); err == nil {
		t.Error("a misspelt field: accepted")
	}
}

// lineDiff shows the lines of b that differ from a, with line numbers.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "line %d:\n  - %s\n  + %s\n", i+1, x, y)
		}
	}
	return out.String()
}

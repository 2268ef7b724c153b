//go:build ignore

// disttool packs release archives and writes krew manifests; hack/dist/dist.sh
// (make dist) and the Makefile run it with `go run hack/dist/disttool.go`.
//
//	package   -dir DIR -version V -platforms "os/arch ..." [-template .krew.yaml]
//	          packs DIR/.build/<os>_<arch>/kubectl-workqueue[.exe] with LICENSE,
//	          README.md and kubectl_complete-workqueue into
//	          DIR/kubectl-workqueue_<os>_<arch>.tar.gz (.zip on windows), writes
//	          DIR/sha256sums.txt and DIR/workqueue.yaml (the krew manifest)
//	manifest  -template .krew.yaml -version V -checksums FILE -o FILE [-all]
//	          renders the krew-release-bot template with the sha256 of FILE
//	scripts   -dir DIR
//	          writes kubectl's completion executables for unix and windows
//
// Archives are reproducible: entries sorted, fixed mtime ($SOURCE_DATE_EPOCH,
// default 1980-01-01), owner 0:0, fixed modes, gzip without name or time.
// The same sources, VERSION and Go toolchain give the same bytes.
package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/cmd"
)

const binName = "kubectl-workqueue"

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: disttool package|manifest|scripts [flags]"))
	}
	var err error
	switch os.Args[1] {
	case "package":
		err = packageCmd(os.Args[2:])
	case "manifest":
		err = manifestCmd(os.Args[2:])
	case "scripts":
		err = scriptsCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q: want package, manifest or scripts", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "disttool:", err)
	os.Exit(1)
}

func packageCmd(args []string) error {
	fs := flag.NewFlagSet("package", flag.ExitOnError)
	dir := fs.String("dir", "dist", "output directory; binaries are read from DIR/.build/<os>_<arch>/")
	ver := fs.String("version", "", "the version the binaries were stamped with")
	platforms := fs.String("platforms", "", "space-separated os/arch list")
	tmpl := fs.String("template", ".krew.yaml", "krew-release-bot template of the manifest")
	fs.Parse(args)
	if *ver == "" || *platforms == "" {
		return errors.New("package: -version and -platforms are required")
	}
	mtime, err := sourceDate()
	if err != nil {
		return err
	}
	sums := map[string]string{}
	for _, p := range strings.Fields(*platforms) {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			return fmt.Errorf("platform %q: want os/arch", p)
		}
		name, err := packPlatform(*dir, goos, goarch, mtime)
		if err != nil {
			return err
		}
		sum, err := fileSHA256(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		sums[name] = sum
		fmt.Printf("%s  %s\n", sum, name)
	}
	if err := writeChecksums(filepath.Join(*dir, "sha256sums.txt"), sums); err != nil {
		return err
	}
	out, dropped, err := renderManifest(*tmpl, *ver, sums)
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		fmt.Printf("workqueue.yaml: left out the platforms not built: %s\n", strings.Join(dropped, ", "))
	}
	return os.WriteFile(filepath.Join(*dir, "workqueue.yaml"), out, 0o644)
}

// entry is one file of an archive.
type entry struct {
	name string
	mode int64
	data []byte
}

func packPlatform(dir, goos, goarch string, mtime time.Time) (string, error) {
	exe := binName
	if goos == "windows" {
		exe += ".exe"
	}
	bin, err := os.ReadFile(filepath.Join(dir, ".build", goos+"_"+goarch, exe))
	if err != nil {
		return "", fmt.Errorf("%s/%s: %w", goos, goarch, err)
	}
	license, err := os.ReadFile("LICENSE")
	if err != nil {
		return "", err
	}
	scriptName, script := cmd.KubectlCompletionScript(goos)
	entries := []entry{
		{exe, 0o755, bin},
		{"LICENSE", 0o644, license},
		{scriptName, 0o755, []byte(script)},
	}
	if readme, err := os.ReadFile("README.md"); err == nil {
		entries = append(entries, entry{"README.md", 0o644, readme})
	} else if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "disttool: warning: no README.md, the archives go without it")
	} else {
		return "", err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	name := fmt.Sprintf("%s_%s_%s.tar.gz", binName, goos, goarch)
	write := writeTarGz
	if goos == "windows" {
		name = strings.TrimSuffix(name, ".tar.gz") + ".zip"
		write = writeZip
	}
	var buf bytes.Buffer
	if err := write(&buf, entries, mtime); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return name, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
}

func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.name,
			Mode:     e.mode,
			Size:     int64(len(e.data)),
			ModTime:  mtime,
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(os.FileMode(e.mode))
		f, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := f.Write(e.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// sourceDate is the mtime of every archive entry: $SOURCE_DATE_EPOCH, or
// 1980-01-01, the earliest time a zip file can hold.
func sourceDate() (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeChecksums writes sums in sha256sum's (and goreleaser's) format.
func writeChecksums(name string, sums map[string]string) error {
	var b strings.Builder
	for _, f := range slices.Sorted(maps.Keys(sums)) {
		fmt.Fprintf(&b, "%s  %s\n", sums[f], f)
	}
	return os.WriteFile(name, []byte(b.String()), 0o644)
}

func readChecksums(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, file, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			continue
		}
		sums[path.Base(strings.TrimPrefix(file, "*"))] = sum
	}
	return sums, sc.Err()
}

func manifestCmd(args []string) error {
	fs := flag.NewFlagSet("manifest", flag.ExitOnError)
	tmpl := fs.String("template", ".krew.yaml", "krew-release-bot template of the manifest")
	ver := fs.String("version", "", "the release tag, e.g. v0.1.0")
	checksums := fs.String("checksums", "dist/sha256sums.txt", "sha256sum-format file listing the archives")
	out := fs.String("o", "", "output file (default stdout)")
	all := fs.Bool("all", false, "fail unless every platform of the template has its archive in -checksums")
	fs.Parse(args)
	if *ver == "" {
		return errors.New("manifest: -version is required")
	}
	sums, err := readChecksums(*checksums)
	if err != nil {
		return err
	}
	b, dropped, err := renderManifest(*tmpl, *ver, sums)
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		if *all {
			return fmt.Errorf("%s lists no sha256 for %s: build every platform (make dist VERSION=%s)", *checksums, strings.Join(dropped, ", "), *ver)
		}
		fmt.Fprintf(os.Stderr, "disttool: left out the platforms not in %s: %s\n", *checksums, strings.Join(dropped, ", "))
	}
	if *out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

var semverTag = regexp.MustCompile(`^v\d+\.\d+\.\d+`)

// manifestVersion is the tag a manifest is rendered with: the version itself
// when it is a v-prefixed semantic version (as krew requires), else a
// development version that says where it came from.
func manifestVersion(v string) string {
	if semverTag.MatchString(v) {
		if _, err := version.ParseSemantic(v[1:]); err == nil {
			return v
		}
	}
	clean := regexp.MustCompile(`[^0-9A-Za-z.-]+`).ReplaceAllString(v, "-")
	return "v0.0.0-dev+" + strings.Trim(clean, ".-")
}

// renderManifest renders the krew-release-bot template tmplFile for tag ver
// as the bot does (see rajatjindal/krew-release-bot pkg/source/template.go),
// except that addURIAndSha takes the sha256 of the archive from sums, by file
// name, instead of downloading it. Platforms whose archive is not in sums are
// left out, and returned as dropped.
func renderManifest(tmplFile, ver string, sums map[string]string) (out []byte, dropped []string, err error) {
	tag := manifestVersion(ver)
	var missing []string
	const placeholder = "0000000000000000000000000000000000000000000000000000000000000000"
	funcs := template.FuncMap{
		"indent": func(spaces int, v string) string {
			v = strings.ReplaceAll(v, "    sha256:", "sha256:")
			pad := strings.Repeat(" ", spaces)
			return strings.TrimSpace(pad + strings.ReplaceAll(v, "\n", "\n"+pad))
		},
		"addURIAndSha": func(url, tag string) (string, error) {
			var b strings.Builder
			t, err := template.New("url").Parse(url)
			if err != nil {
				return "", err
			}
			if err := t.Execute(&b, struct{ TagName string }{tag}); err != nil {
				return "", err
			}
			uri := b.String()
			sum, ok := sums[path.Base(uri)]
			if !ok {
				missing = append(missing, uri)
				sum = placeholder
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum), nil
		},
	}
	t, err := template.New(filepath.Base(tmplFile)).Funcs(funcs).ParseFiles(tmplFile)
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ TagName string }{tag}); err != nil {
		return nil, nil, err
	}
	if len(missing) == 0 {
		return b.Bytes(), nil, nil
	}
	out, dropped, err = dropPlatforms(b.Bytes(), missing)
	return out, dropped, err
}

// dropPlatforms removes from a manifest the platforms whose uri is in uris.
func dropPlatforms(manifest []byte, uris []string) ([]byte, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(manifest, &doc); err != nil {
		return nil, nil, fmt.Errorf("rendered manifest: %w", err)
	}
	platforms := lookup(lookup(doc.Content[0], "spec"), "platforms")
	if platforms == nil {
		return nil, nil, errors.New("rendered manifest has no spec.platforms")
	}
	var kept []*yaml.Node
	var dropped []string
	for _, p := range platforms.Content {
		if uri := lookup(p, "uri"); uri != nil && slices.Contains(uris, uri.Value) {
			sel := lookup(lookup(p, "selector"), "matchLabels")
			dropped = append(dropped, lookup(sel, "os").Value+"/"+lookup(sel, "arch").Value)
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == 0 {
		return nil, nil, errors.New("no platform of the manifest has its archive")
	}
	platforms.Content = kept
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), dropped, enc.Close()
}

// lookup returns the value of key in mapping node m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scriptsCmd(args []string) error {
	fs := flag.NewFlagSet("scripts", flag.ExitOnError)
	dir := fs.String("dir", "", "directory to write the scripts into")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("scripts: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	for _, goos := range []string{"linux", "windows"} {
		name, content := cmd.KubectlCompletionScript(goos)
		p := filepath.Join(*dir, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	return nil
}

package krew

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

// Plugin is krew's manifest (sigs.k8s.io/krew/pkg/index.Plugin, v1alpha2).
type Plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec PluginSpec `json:"spec"`
}

// PluginSpec is krew's index.PluginSpec.
type PluginSpec struct {
	Version          string     `json:"version,omitempty"`
	ShortDescription string     `json:"shortDescription,omitempty"`
	Description      string     `json:"description,omitempty"`
	Caveats          string     `json:"caveats,omitempty"`
	Homepage         string     `json:"homepage,omitempty"`
	Platforms        []Platform `json:"platforms,omitempty"`
}

// Platform is krew's index.Platform.
type Platform struct {
	URI      string                `json:"uri,omitempty"`
	Sha256   string                `json:"sha256,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Files    []FileOperation       `json:"files"`
	Bin      string                `json:"bin"`
}

// FileOperation is krew's index.FileOperation.
type FileOperation struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// readPlugin reads a manifest strictly: an unknown or misspelt field is an error.
func readPlugin(file string) (*Plugin, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parsePlugin(b)
}

func parsePlugin(b []byte) (*Plugin, error) {
	var p Plugin
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		return nil, fmt.Errorf("parsing the manifest: %w", err)
	}
	return &p, nil
}

var (
	safePluginName = regexp.MustCompile(`^[\w-]+$`)
	validSHA256    = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// windowsForbidden are names Windows reserves (krew's list).
	windowsForbidden = []string{"CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5",
		"COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"}
)

// krewPlatforms are the os/arch pairs a selector is checked against: krew's
// list in cmd/validate-krew-manifest plus the arm64 ones it runs on today.
var krewPlatforms = [][2]string{
	{"windows", "386"}, {"windows", "amd64"}, {"windows", "arm64"},
	{"linux", "386"}, {"linux", "amd64"}, {"linux", "arm"}, {"linux", "arm64"},
	{"darwin", "386"}, {"darwin", "amd64"}, {"darwin", "arm64"},
}

// validateManifestFile checks a manifest file as krew's validate-krew-manifest
// does: the plugin is named after the file, the structure is valid
// (validatePlugin), every platform is used and none overlaps another. The
// line-length limits krew only warns about are errors here.
func validateManifestFile(file string) (*Plugin, error) {
	p, err := readPlugin(file)
	if err != nil {
		return nil, err
	}
	if ext := filepath.Ext(file); ext != ".yaml" {
		return nil, fmt.Errorf("manifest extension %q, want .yaml", ext)
	}
	return p, validatePlugin(strings.TrimSuffix(filepath.Base(file), ".yaml"), p)
}

// validatePlugin mirrors krew's validation.ValidatePlugin and the checks of
// validate-krew-manifest, plus the archive formats krew can unpack.
func validatePlugin(name string, p *Plugin) error {
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" {
		return fmt.Errorf("apiVersion %q is not supported", p.APIVersion)
	}
	if p.Kind != "Plugin" {
		return fmt.Errorf("kind %q, want Plugin", p.Kind)
	}
	if !safePluginName.MatchString(name) {
		return fmt.Errorf("plugin name %q must match %s", name, safePluginName)
	}
	for _, f := range windowsForbidden {
		if strings.EqualFold(f, name) {
			return fmt.Errorf("plugin name %q is reserved on Windows", name)
		}
	}
	if p.Metadata.Name != name {
		return fmt.Errorf("plugin should be named %q (its file name), not %q", name, p.Metadata.Name)
	}
	if p.Spec.ShortDescription == "" {
		return errors.New("should have a short description")
	}
	if strings.ContainsAny(p.Spec.ShortDescription, "\r\n") {
		return errors.New("should not have line breaks in short description")
	}
	if p.Spec.Description == "" {
		return errors.New("should have a description")
	}
	if len(p.Spec.Platforms) == 0 {
		return errors.New("should have a platform specified")
	}
	if err := validateVersion(p.Spec.Version); err != nil {
		return err
	}
	for field, text := range map[string]string{"shortDescription": p.Spec.ShortDescription, "description": p.Spec.Description, "caveats": p.Spec.Caveats} {
		limit := 80
		if field == "shortDescription" {
			limit = 70
		}
		if line, ok := longLine(text, limit); !ok {
			return fmt.Errorf("a line of %s exceeds %d characters: %q", field, limit, line)
		}
	}
	for i, pl := range p.Spec.Platforms {
		if err := validatePlatform(pl); err != nil {
			return fmt.Errorf("spec.platforms[%d]: %w", i, err)
		}
		if goos, _ := matchingPlatform(pl.Selector); goos == "" {
			return fmt.Errorf("spec.platforms[%d]: selector %v matches no supported platform", i, pl.Selector)
		}
	}
	for _, osArch := range krewPlatforms {
		var matches []int
		for i, pl := range p.Spec.Platforms {
			if selectorMatches(pl.Selector, osArch[0], osArch[1]) {
				matches = append(matches, i)
			}
		}
		if len(matches) > 1 {
			return fmt.Errorf("spec.platforms %v have overlapping selectors that select os=%s/arch=%s", matches, osArch[0], osArch[1])
		}
	}
	return nil
}

// validateVersion mirrors krew's semver.Parse: a "v", then a semantic version.
func validateVersion(v string) error {
	if v == "" {
		return errors.New("should have a version specified")
	}
	if !strings.HasPrefix(v, "v") {
		return fmt.Errorf("version %q: must start with v", v)
	}
	if _, err := version.ParseSemantic(v[1:]); err != nil {
		return fmt.Errorf("version %q: %w", v, err)
	}
	return nil
}

// longLine returns the first line longer than limit, unless it is one word
// (krew's validateLineLength allows a long URL).
func longLine(s string, limit int) (string, bool) {
	for _, line := range strings.Split(s, "\n") {
		if len(line) > limit && strings.Contains(strings.TrimSpace(line), " ") {
			return line, false
		}
	}
	return "", true
}

func validatePlatform(p Platform) error {
	switch {
	case p.URI == "":
		return errors.New("`uri` has to be set")
	case !strings.HasSuffix(p.URI, ".tar.gz") && !strings.HasSuffix(p.URI, ".zip"):
		return fmt.Errorf("uri %q: want a .tar.gz or .zip archive", p.URI)
	case p.Sha256 == "":
		return errors.New("`sha256` sum has to be set")
	case !validSHA256.MatchString(p.Sha256):
		return fmt.Errorf("`sha256` value %s is not valid, must match pattern %s", p.Sha256, validSHA256)
	case p.Bin == "":
		return errors.New("`bin` has to be set")
	}
	if p.Files != nil && len(p.Files) == 0 {
		return errors.New("`files` has to be unspecified or non-empty")
	}
	for _, op := range p.Files {
		if op.From == "" || op.To == "" {
			return fmt.Errorf("file operation %+v: `from` and `to` have to be set", op)
		}
		if op.To != filepath.Clean(op.To) {
			return fmt.Errorf("file operation %+v: %q is not clean", op, op.To)
		}
	}
	sel := p.Selector
	if sel == nil {
		return errors.New("nil selector is not supported")
	}
	if sel.MatchLabels == nil && len(sel.MatchExpressions) == 0 {
		return errors.New("empty selector is not supported")
	}
	for k := range sel.MatchLabels {
		if k != "os" && k != "arch" {
			return fmt.Errorf("selector key %q not supported", k)
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != "os" && e.Key != "arch" {
			return fmt.Errorf("selector key %q not supported", e.Key)
		}
	}
	if sel.MatchLabels != nil && len(sel.MatchLabels) == 0 {
		return errors.New("`matchLabels` specified but empty")
	}
	return nil
}

func selectorMatches(sel *metav1.LabelSelector, goos, goarch string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set{"os": goos, "arch": goarch})
}

func matchingPlatform(sel *metav1.LabelSelector) (goos, goarch string) {
	for _, p := range krewPlatforms {
		if selectorMatches(sel, p[0], p[1]) {
			return p[0], p[1]
		}
	}
	return "", ""
}

// platformFor is the platform krew picks for os/arch (GetMatchingPlatform).
func platformFor(p *Plugin, goos, goarch string) (Platform, bool) {
	for _, pl := range p.Spec.Platforms {
		if selectorMatches(pl.Selector, goos, goarch) {
			return pl, true
		}
	}
	return Platform{}, false
}

// install installs the plugin from archive (what --archive gives krew) into
// krewRoot as `kubectl krew install --manifest --archive` does: verify the
// sha256, extract into a staging directory, move the `files` into
// store/NAME/VERSION, and link bin/kubectl-NAME to the plugin's bin.
// It returns the path of the link.
func install(p *Plugin, pl Platform, archive, krewRoot string) (string, error) {
	data, err := os.ReadFile(archive)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != pl.Sha256 {
		return "", fmt.Errorf("checksum does not match: %s has %s, the manifest says %s", archive, got, pl.Sha256)
	}
	staging, err := os.MkdirTemp("", "krew-downloads")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(staging)
	if err := extract(data, staging); err != nil {
		return "", fmt.Errorf("unpacking %s: %w", archive, err)
	}

	installDir := filepath.Join(krewRoot, "store", p.Metadata.Name, p.Spec.Version)
	if err := os.MkdirAll(installDir, 0o755); err != nil {
		return "", err
	}
	files := pl.Files
	if files == nil {
		files = []FileOperation{{From: "*", To: "."}}
	}
	for _, op := range files {
		if err := moveFiles(staging, installDir, op); err != nil {
			return "", err
		}
	}

	bin := filepath.Join(installDir, filepath.FromSlash(pl.Bin))
	if !within(installDir, bin) {
		return "", fmt.Errorf("bin %q is outside the installation directory", pl.Bin)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("can't create symbolic link, source binary (%q) cannot be found in extracted archive: %w", bin, err)
	}
	binDir := filepath.Join(krewRoot, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	link := filepath.Join(binDir, "kubectl-"+strings.ReplaceAll(p.Metadata.Name, "-", "_"))
	rel, err := filepath.Rel(binDir, bin)
	if err != nil {
		return "", err
	}
	return link, os.Symlink(rel, link)
}

// extract unpacks a tar.gz or zip, told apart by content as krew does.
func extract(data []byte, dir string) error {
	switch ct := http.DetectContentType(data); ct {
	case "application/x-gzip":
		return extractTarGz(data, dir)
	case "application/zip":
		return extractZip(data, dir)
	default:
		return fmt.Errorf("unsupported archive type %q", ct)
	}
}

func extractTarGz(data []byte, dir string) error {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !within(dir, dst) {
			return fmt.Errorf("archive entry %q escapes the archive", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(dst, tr, os.FileMode(h.Mode)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("archive entry %q has type %c, which krew does not unpack", h.Name, h.Typeflag)
		}
	}
}

func extractZip(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !within(dir, dst) {
			return fmt.Errorf("archive entry %q escapes the archive", f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		err = writeFile(dst, r, f.Mode())
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func writeFile(dst string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// moveFiles applies one file operation as krew's installation.moveFiles
// does: `from` names one file (moved to `to`, or to its own name when `to`
// is "."), or else is a glob whose matches move into the directory `to`.
func moveFiles(fromDir, toDir string, op FileOperation) error {
	if src := filepath.Join(fromDir, filepath.FromSlash(op.From)); exists(src) {
		to := op.To
		if filepath.Clean(to) == "." {
			to = filepath.Base(src)
		}
		dst := filepath.Join(toDir, filepath.FromSlash(to))
		if !within(fromDir, src) || !within(toDir, dst) {
			return fmt.Errorf("can't move %q to %q: out of bounds", op.From, op.To)
		}
		return rename(src, dst)
	}
	matches, err := filepath.Glob(filepath.Join(fromDir, filepath.FromSlash(op.From)))
	if err != nil {
		return err
	}
	if len(matches) == 0 {
		return fmt.Errorf("no files in the plugin archive matched the glob pattern=%s", op.From)
	}
	for _, m := range matches {
		dst := filepath.Join(toDir, filepath.FromSlash(op.To), filepath.Base(m))
		if !within(fromDir, m) || !within(toDir, dst) {
			return fmt.Errorf("can't move %q: out of bounds", m)
		}
		if err := rename(m, dst); err != nil {
			return err
		}
	}
	return nil
}

func rename(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.Rename(from, to)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// within reports whether p is base or below it.
func within(base, p string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// archiveEntries lists the regular files of an archive with their modes.
func archiveEntries(file string) (map[string]os.FileMode, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	entries := map[string]os.FileMode{}
	switch path.Ext(file) {
	case ".zip":
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, err
		}
		for _, f := range zr.File {
			entries[f.Name] = f.Mode()
		}
	default:
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			entries[h.Name] = os.FileMode(h.Mode)
		}
	}
	return entries, nil
}

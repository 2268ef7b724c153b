package manifest

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// toYAML marshals objs as a multi-document YAML stream.
func toYAML(t *testing.T, objs ...runtime.Object) string {
	t.Helper()
	docs := make([]string, 0, len(objs))
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatalf("marshal %T: %v", o, err)
		}
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n")
}

// assertGolden compares objs, as YAML, with testdata/name.yaml; with -update it
// rewrites the file instead.
func assertGolden(t *testing.T, name string, objs ...runtime.Object) {
	t.Helper()
	got := toYAML(t, objs...)
	path := filepath.Join("testdata", name+".yaml")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run 'go test ./internal/manifest -update' to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the generated YAML (if the change is intended, rerun with -update)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

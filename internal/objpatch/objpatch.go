// Package objpatch reads Kubernetes objects and patches them as `kubectl
// patch` does (strategic merge, JSON merge or JSON patch), from YAML or JSON,
// into typed objects, strictly: an unknown or mistyped field is an error. Its
// errors say where: the source (a file name, a flag), the line when the text
// says it, and the field.
//
// The merges themselves are apimachinery's (strategicpatch) and
// evanphx/json-patch, the libraries kubectl patch uses.
package objpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Type is how a patch applies, named as kubectl patch --type names it.
type Type string

const (
	// Strategic merges by the object's patch keys: list elements such as
	// containers, env variables and volumes merge by name.
	Strategic Type = "strategic"
	// Merge is a JSON merge patch (RFC 7386): maps merge, lists are replaced whole.
	Merge Type = "merge"
	// JSON is a JSON patch (RFC 6902): a list of operations on paths.
	JSON Type = "json"
)

// Types are the valid Types, in the order help texts list them.
var Types = []Type{Strategic, Merge, JSON}

// ParseType returns the Type named s.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("%q: must be strategic, merge or json", s)
}

// Patch is one patch, in YAML or JSON.
type Patch struct {
	// Source names the patch in errors: a file name, or the flag that gave it.
	Source string
	Type   Type
	Data   []byte
}

// Error is a problem with a patch or a manifest, and where it is.
type Error struct {
	// Source is the patch's or manifest's Source.
	Source string
	// Line is the line in Source, 1-based; 0 when unknown.
	Line int
	// Field is the path of the field, e.g. spec.template.spec.containers[0].image,
	// or, for a JSON patch, the operation; "" when the whole text is at fault.
	Field string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Decode reads one object from data (YAML or JSON) into out, a pointer to a
// typed object. Fields unknown to out's type, given twice, or of the wrong
// type are errors.
func Decode(source string, data []byte, out any) error {
	doc, js, err := parse(source, data)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(js, []byte("{")) {
		return &Error{Source: source, Line: doc.line(), Err: fmt.Errorf("want an object (a map of fields), got %s", describe(js))}
	}
	return decodeStrict(source, doc, js, out)
}

// TypeOf reads the apiVersion and kind of the object in data (YAML or JSON),
// for a caller to check before it decodes the object strictly.
func TypeOf(source string, data []byte) (metav1.TypeMeta, error) {
	var tm metav1.TypeMeta
	doc, js, err := parse(source, data)
	if err != nil {
		return tm, err
	}
	if !bytes.HasPrefix(js, []byte("{")) {
		return tm, &Error{Source: source, Line: doc.line(), Err: fmt.Errorf("want an object (a map of fields), got %s", describe(js))}
	}
	if err := json.Unmarshal(js, &tm); err != nil {
		return tm, &Error{Source: source, Err: fmt.Errorf("apiVersion and kind: %w", err)}
	}
	return tm, nil
}

// Apply applies p to obj and returns the result as a new object of obj's
// type; obj is not modified.
func Apply[T any](obj *T, p Patch) (*T, error) {
	doc, pj, err := parse(p.Source, p.Data)
	if err != nil {
		return nil, err
	}
	orig, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var patched []byte
	switch p.Type {
	case Strategic, Merge:
		if !bytes.HasPrefix(pj, []byte("{")) {
			return nil, &Error{Source: p.Source, Line: doc.line(), Err: fmt.Errorf("a %s patch is an object (a map of fields), got %s", p.Type, describe(pj))}
		}
		if p.Type == Strategic {
			patched, err = strategicpatch.StrategicMergePatch(orig, pj, obj)
		} else {
			patched, err = jsonpatch.MergePatch(orig, pj)
		}
		if err != nil {
			return nil, &Error{Source: p.Source, Err: fmt.Errorf("%s patch: %w", p.Type, err)}
		}
	case JSON:
		if patched, err = applyJSONPatch(p.Source, doc, pj, orig); err != nil {
			return nil, err
		}
	default:
		return nil, &Error{Source: p.Source, Err: fmt.Errorf("unknown patch type %q", p.Type)}
	}
	out := new(T)
	if err := decodeStrict(p.Source, doc, patched, out); err != nil {
		return nil, err
	}
	return out, nil
}

// applyJSONPatch applies the operations one at a time, so that an error names
// the one that failed and its line.
func applyJSONPatch(source string, doc *document, pj, orig []byte) ([]byte, error) {
	if !bytes.HasPrefix(pj, []byte("[")) {
		return nil, &Error{Source: source, Line: doc.line(), Err: fmt.Errorf("a json patch is a list of operations such as {op: add, path: /spec/x, value: 1}, got %s", describe(pj))}
	}
	var ops []json.RawMessage
	if err := json.Unmarshal(pj, &ops); err != nil {
		return nil, &Error{Source: source, Err: err}
	}
	cur := orig
	for i, raw := range ops {
		opErr := func(err error) error {
			return &Error{Source: source, Line: doc.lineOfIndex(i), Field: describeOp(i, raw), Err: err}
		}
		op, err := jsonpatch.DecodePatch(append(append([]byte("["), raw...), ']'))
		if err != nil {
			return nil, opErr(err)
		}
		if cur, err = op.Apply(cur); err != nil {
			return nil, opErr(explainJSONPatch(err, raw))
		}
	}
	return cur, nil
}

// describeOp names a JSON patch operation: "operation 2 (remove /spec/x)".
func describeOp(i int, raw json.RawMessage) string {
	var op struct{ Op, Path string }
	_ = json.Unmarshal(raw, &op)
	s := "operation " + strconv.Itoa(i+1)
	if op.Op != "" || op.Path != "" {
		s += " (" + strings.TrimSpace(op.Op+" "+op.Path) + ")"
	}
	return s
}

// explainJSONPatch words json-patch's errors for a user: "replace operation
// does not apply: doc is missing path: /spec/x: missing value" says the path
// does not exist.
func explainJSONPatch(err error, raw json.RawMessage) error {
	if !errors.Is(err, jsonpatch.ErrMissing) {
		return err
	}
	var op struct{ Op string }
	_ = json.Unmarshal(raw, &op)
	if op.Op == "add" {
		return errors.New("the path's parent does not exist (a json patch adds one level at a time; a strategic or merge patch creates what is missing)")
	}
	return errors.New("the path does not exist")
}

// decodeStrict decodes js into out and reports unknown, duplicate and
// mistyped fields with their path, and their line in doc when it has them.
func decodeStrict(source string, doc *document, js []byte, out any) error {
	strict, err := kjson.UnmarshalStrict(js, out)
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &Error{Source: source, Line: doc.lineOf(te.Field), Field: te.Field,
				Err: fmt.Errorf("is %s, want %s", jsonValueName(te.Value), typeName(te.Type.String()))}
		}
		return &Error{Source: source, Err: err}
	}
	var errs []error
	for _, e := range strict {
		var fe kjson.FieldError
		if !errors.As(e, &fe) {
			errs = append(errs, &Error{Source: source, Err: e})
			continue
		}
		what := "unknown field"
		if strings.HasPrefix(e.Error(), "duplicate") {
			what = "field given twice"
		}
		errs = append(errs, &Error{Source: source, Line: doc.lineOf(fe.FieldPath()), Field: fe.FieldPath(), Err: errors.New(what)})
	}
	return errors.Join(errs...)
}

// jsonValueName words encoding/json's description of a value ("string",
// "array", "number -5").
func jsonValueName(v string) string {
	switch {
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "bool":
		return "true or false"
	case strings.HasPrefix(v, "number "):
		return "the number " + strings.TrimPrefix(v, "number ")
	}
	return "a " + v
}

// typeName words a Go type for a user: "int32" is a number, "v1.Container"
// an object.
func typeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a map"
	case strings.Contains(t, "int") || strings.Contains(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.Contains(t, "."):
		return "an object (" + t + ")"
	}
	return t
}

// describe names the kind of a JSON value for an error.
func describe(js []byte) string {
	switch {
	case len(js) == 0 || string(js) == "null":
		return "nothing"
	case js[0] == '[':
		return "a list"
	case js[0] == '{':
		return "an object"
	case js[0] == '"':
		return "the text " + truncate(string(js), 40)
	}
	return "the value " + truncate(string(js), 40)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// document is the parsed YAML of a patch or manifest, kept for the lines of
// its fields.
type document struct{ root *yamlv3.Node }

// parse reads data as one YAML (or JSON) document and returns it as JSON.
func parse(source string, data []byte) (*document, []byte, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, &Error{Source: source, Err: errors.New("is empty")}
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var root yamlv3.Node
	if err := dec.Decode(&root); err != nil {
		return nil, nil, yamlError(source, err)
	}
	var extra yamlv3.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, &Error{Source: source, Line: extra.Line, Err: errors.New("holds more than one YAML document; give one")}
	}
	doc := &document{root: &root}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, nil, yamlError(source, err)
	}
	return doc, js, nil
}

var yamlLine = regexp.MustCompile(`^(?:error converting YAML to JSON: )?yaml: line (\d+): (.*)$`)

// yamlError turns the YAML parser's "yaml: line 3: mapping values are not
// allowed in this context" into an Error with the line.
func yamlError(source string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Source: source, Line: line, Err: errors.New("not valid YAML or JSON: " + m[2])}
	}
	return &Error{Source: source, Err: fmt.Errorf("not valid YAML or JSON: %s", strings.TrimPrefix(msg, "yaml: "))}
}

// body is the document's top node.
func (d *document) body() *yamlv3.Node {
	if d == nil || d.root == nil {
		return nil
	}
	n := d.root
	if n.Kind == yamlv3.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	return n
}

func (d *document) line() int {
	if n := d.body(); n != nil {
		return n.Line
	}
	return 0
}

// lineOfIndex is the line of the i-th element of a top-level list.
func (d *document) lineOfIndex(i int) int {
	n := d.body()
	if n == nil || n.Kind != yamlv3.SequenceNode || i >= len(n.Content) {
		return 0
	}
	return n.Content[i].Line
}

// lineOf finds the line of a field path such as
// spec.template.spec.containers[0].image. The path is of the object after a
// merge, whose list indices need not be the patch's, so any element of a
// list may match. When the field itself is not in the text, the line of the
// deepest part of the path that is; 0 when none is.
func (d *document) lineOf(path string) int {
	var keys []string
	for _, part := range strings.Split(path, ".") {
		if i := strings.IndexByte(part, '['); i >= 0 {
			part = part[:i]
		}
		if part != "" {
			keys = append(keys, part)
		}
	}
	line, _ := find(d.body(), keys)
	return line
}

// find returns the line of the deepest match of keys under n, and how many
// keys matched.
func find(n *yamlv3.Node, keys []string) (line, depth int) {
	if n == nil || len(keys) == 0 {
		return 0, 0
	}
	switch n.Kind {
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value != keys[0] {
				continue
			}
			line, depth = n.Content[i].Line, 1
			if l, d := find(n.Content[i+1], keys[1:]); d > 0 {
				line, depth = l, d+1
			}
			return line, depth
		}
	case yamlv3.SequenceNode:
		for _, e := range n.Content {
			if l, d := find(e, keys); d > depth {
				line, depth = l, d
			}
		}
	}
	return line, depth
}

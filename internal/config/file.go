package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/suggest"
)

// fileValue is one key's value in the config file: a scalar, or a list of
// scalars for a List key.
type fileValue struct {
	text   string   // a scalar, as written
	list   []string // a sequence's items, as written
	isList bool
	line   int
	path   string // the file it was read from (the user's or the machine's)
	// settings is the rotation: section (per rotation type, settings that
	// have no flag), decoded as YAML gives it.
	settings map[string]map[string]any
}

// RotationKey is the config-file-only section of per-type rotation
// settings: rotation: {exec: {web: {out: [...], in: [...]}}}. It has no flag
// and no environment variable (its values are lists and maps).
const RotationKey = "rotation"

// readFile reads the config file as YAML, whatever its name ends in (a
// drain.conf given with --config is the same YAML as a drain.yaml). viper
// reads the values; before that, the file is checked node by node so that
// every problem names its key and line, which viper's errors do not: an
// unknown or repeated key (viper says only "unmarshal errors:"), a key
// without a value (`state-dir:` is null, which viper would hand over as nil
// and must not become the text "<nil>"), a list or a map where one value
// belongs.
func readFile(path string) (map[string]fileValue, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("check the path and permissions", "cannot read config file %s: %s", path, oneLine(err))
	}
	out, err := checkFile(path, b)
	if err != nil || len(out) == 0 {
		return out, err
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return nil, usageErrorf("check the YAML syntax: key: value, one per line", "cannot read config file %s: %s", path, yamlError(err))
	}
	for name, fv := range out {
		if name == RotationKey {
			continue // decoded from the node by checkFile
		}
		switch x := v.Get(name).(type) {
		case []any:
			fv.list = fv.list[:0]
			for _, item := range x {
				fv.list = append(fv.list, scalarText(item))
			}
		default:
			fv.text = scalarText(x)
		}
		out[name] = fv
	}
	return out, nil
}

// scalarText is a scalar value as text. checkFile has refused nulls, so nil
// never gets here to become "<nil>".
func scalarText(x any) string {
	if s, ok := x.(string); ok {
		return s
	}
	return fmt.Sprint(x)
}

// checkFile checks the YAML file node by node and returns each key's value
// as written.
func checkFile(path string, b []byte) (map[string]fileValue, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]fileValue{}, nil // empty file: no settings
		}
		return nil, usageErrorf("check the YAML syntax: key: value, one per line", "cannot read config file %s: %s", path, yamlError(err))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, usageErrorf("keep one YAML document (no second ---)", "config file %s line %d: a second YAML document", path, more.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return map[string]fileValue{}, nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return map[string]fileValue{}, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, usageErrorf("write one key: value per line, e.g. settle: 5s", "config file %s line %d: want key: value lines, found %s", path, root.Line, kindName(root))
	}
	out := map[string]fileValue{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := deref(root.Content[i]), deref(root.Content[i+1])
		if kn.Kind != yaml.ScalarNode {
			return nil, usageErrorf("keys are setting names such as settle", "config file %s line %d: a key must be a name, found %s", path, kn.Line, kindName(kn))
		}
		name := strings.ToLower(kn.Value)
		if name == RotationKey {
			if _, dup := out[name]; dup {
				return nil, usageErrorf("keep one of them", "config file %s line %d: key %q is given twice", path, kn.Line, name)
			}
			v, err, at := rotationSettings(vn)
			if err != nil && at.line > 0 {
				return nil, usageErrorf(err.hint, "config file %s line %d: %s", path, at.line, at.msg)
			}
			if err != nil {
				return nil, usageErrorf(err.hint, "config file %s line %d: rotation: %s", path, vn.Line, err.msg)
			}
			v.line = kn.Line
			out[name] = v
			continue
		}
		k, ok := Lookup(name)
		if !ok {
			return nil, usageErrorf(didYouMean(name), "unknown key %q in config file %s line %d", name, path, kn.Line)
		}
		if prev, dup := out[name]; dup {
			return nil, usageErrorf("keep one of them", "config file %s line %d: key %q is given twice (first at line %d)", path, kn.Line, name, prev.line)
		}
		v, err := nodeValue(k, vn)
		if err != nil {
			return nil, usageErrorf(err.hint, "config file %s line %d: %s %s", path, vn.Line, name, err.msg)
		}
		v.line = kn.Line
		out[name] = v
	}
	return out, nil
}

type valueError struct{ msg, hint string }

// lineError is a rotation setting refused at a line of its own: msg is
// the whole message after the line.
type lineError struct {
	line int
	msg  string
}

// keyLine is the line of the key path names under the map n (the last
// key found on the way, n's own when none is).
func keyLine(n *yaml.Node, path []string) int {
	line := n.Line
	for _, key := range path {
		n = deref(n)
		if n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.EqualFold(n.Content[i].Value, key) {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// nodeValue checks one value against its key's kind.
func nodeValue(k Key, n *yaml.Node) (fileValue, *valueError) {
	if isNull(n) {
		hint := "give a value, or remove the line to use the default"
		if k.Default != "" {
			hint += " (" + k.Default + ")"
		}
		if k.Name == "down-content" {
			hint = `give the text to write, "" for an empty page, or remove the line for rename mode`
		}
		return fileValue{}, &valueError{"has no value", hint}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return fileValue{text: n.Value}, nil
	case yaml.SequenceNode:
		if k.Kind != List {
			return fileValue{}, &valueError{"takes one value, not a list", "write " + k.Name + ": VALUE"}
		}
		v := fileValue{isList: true}
		for _, item := range n.Content {
			item = deref(item)
			switch {
			case isNull(item):
				return fileValue{}, &valueError{fmt.Sprintf("has an empty item at line %d", item.Line), "remove the empty - line"}
			case item.Kind != yaml.ScalarNode:
				return fileValue{}, &valueError{fmt.Sprintf("item at line %d is %s, not a value", item.Line, kindName(item)), "write each item as - VALUE"}
			}
			v.list = append(v.list, item.Value)
		}
		return v, nil
	default:
		return fileValue{}, &valueError{"is " + kindName(n) + ", not a value", "write " + k.Name + ": VALUE"}
	}
}

// deref follows YAML aliases (*name) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.AliasNode || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// yamlError makes a YAML error one line: "yaml: unmarshal errors:\n  line 3:
// ..." becomes "line 3: ...".
func yamlError(err error) string {
	var lines []string
	for l := range strings.Lines(err.Error()) {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "yaml:"))
		if l != "" && l != "unmarshal errors:" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// rotationSettings checks the rotation: section: a map from registered
// rotation types to maps of settings; what each setting means is the
// method's to check.
func rotationSettings(n *yaml.Node) (fileValue, *valueError, lineError) {
	example := "write rotation: then one line per type, e.g.\n  rotation:\n    exec:\n      web: {out: [...], in: [...], status: [...]}"
	if n.Kind != yaml.MappingNode {
		return fileValue{}, &valueError{"is " + kindName(n) + ", not a map of rotation types", example}, lineError{}
	}
	v := fileValue{settings: map[string]map[string]any{}}
	known := rotation.TypeNames()
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := deref(n.Content[i]), deref(n.Content[i+1])
		typ := strings.ToLower(kn.Value)
		if !slices.Contains(known, typ) {
			hint := "the types are " + strings.Join(known, ", ")
			if s := suggest.Similar(typ, known, 1); len(s) > 0 {
				hint = "did you mean " + s[0] + "? " + hint
			}
			return fileValue{}, &valueError{fmt.Sprintf("unknown rotation type %q at line %d", kn.Value, kn.Line), hint}, lineError{}
		}
		if _, dup := v.settings[typ]; dup {
			return fileValue{}, &valueError{fmt.Sprintf("type %q given twice (line %d)", typ, kn.Line), "keep one of them"}, lineError{}
		}
		if vn.Kind != yaml.MappingNode {
			return fileValue{}, &valueError{fmt.Sprintf("%s at line %d is %s, not a map of settings", typ, vn.Line, kindName(vn)), example}, lineError{}
		}
		var m map[string]any
		if err := vn.Decode(&m); err != nil {
			return fileValue{}, &valueError{fmt.Sprintf("%s: %s", typ, yamlError(err)), example}, lineError{}
		}
		// The method's own decoder, here only to name the line of a
		// setting it refuses before anything runs.
		if _, err := rotation.DecodeSettings(typ, m); err != nil {
			var se *rotation.SettingsError
			if errors.As(err, &se) {
				return fileValue{}, &valueError{"", "see the README's rotation settings of " + typ}, lineError{keyLine(vn, se.Path[1:]), se.Text()}
			}
			return fileValue{}, &valueError{err.Error(), example}, lineError{}
		}
		v.settings[typ] = m
	}
	return v, nil, lineError{}
}

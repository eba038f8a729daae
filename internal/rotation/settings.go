package rotation

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// The config file's rotation: section gives each type its settings (those
// with no flag). A type declares them as a struct (Type.Settings), its
// fields tagged `setting:"name"`; DecodeSettings is the one decoder: strict
// (an unknown key is refused, with one wording for every type), keys
// without case (viper lower-cases), YAML's numbers (int or float) read
// once. What a value means (a range, a word from a list) is the method's to
// check.
//
// Field kinds: bool, string, int (a whole number, written 3 or 3.0),
// []string (a command as argv: a non-empty list of strings, no shell). A
// type whose settings are named sections (exec: {NAME: {out, in, status}})
// declares a map from names to such a struct.

// SettingsError is a setting of the config file's rotation: section that
// its type refuses. Path is the keys from the type down to the setting
// (exec, web01, stauts), so that the config file can name its line.
type SettingsError struct {
	Path    []string
	Unknown bool   // the last key is no setting of its section
	Msg     string // what is wrong, e.g. `want true or false, got "yes"`
}

// Text is the message without the error kind: where, then what.
func (e *SettingsError) Text() string {
	where := e.Path
	if e.Unknown {
		where = where[:len(where)-1]
	}
	return "rotation." + strings.Join(where, ".") + ": " + e.Msg
}

func (e *SettingsError) Error() string { return "config file " + e.Text() }

// Is makes a SettingsError an ErrConfig (a usage error).
func (e *SettingsError) Is(target error) bool { return target == ErrConfig }

// DecodeSettings decodes the settings section raw of the type named typ
// into a new value of its settings (Type.Settings), with its defaults
// where raw says nothing. A type without settings refuses any. nil raw is
// no section. Errors are *SettingsError.
func DecodeSettings(typ string, raw map[string]any) (any, error) {
	t, ok := Lookup(typ)
	if !ok {
		return nil, configErrorf("config file rotation: unknown rotation type %q", typ)
	}
	return decodeSettings(t, raw)
}

func decodeSettings(t Type, raw map[string]any) (any, error) {
	if t.Settings == nil {
		if len(raw) == 0 {
			return nil, nil
		}
		k := sortedKeys(raw)[0]
		note := t.Name + " has no settings"
		if t.SettingsNote != "" {
			note += ": " + t.SettingsNote
		}
		return nil, &SettingsError{Path: []string{t.Name, k}, Unknown: true, Msg: fmt.Sprintf("unknown setting %q (%s)", k, note)}
	}
	s := t.Settings()
	if err := decodeInto(reflect.ValueOf(s).Elem(), raw, []string{t.Name}); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeInto fills a struct, or a map from names to structs, from raw.
func decodeInto(v reflect.Value, raw map[string]any, path []string) error {
	if v.Kind() == reflect.Map {
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		elem := v.Type().Elem()
		for _, k := range sortedKeys(raw) {
			at := append(slicesClone(path), k)
			sect, ok := raw[k].(map[string]any)
			if !ok {
				return &SettingsError{Path: at, Msg: "want a map with " + andList(settingNames(elem.Elem()))}
			}
			e := reflect.New(elem.Elem())
			if err := decodeInto(e.Elem(), sect, at); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(k), e)
		}
		return nil
	}
	names := settingNames(v.Type())
	for _, k := range sortedKeys(raw) {
		at := append(slicesClone(path), k)
		i := fieldFold(v.Type(), k)
		if i < 0 {
			msg := fmt.Sprintf("unknown setting %q (settings: %s)", k, strings.Join(names, ", ")) + nearestName(strings.ToLower(k), names)
			return &SettingsError{Path: at, Unknown: true, Msg: msg}
		}
		if err := setField(v.Field(i), v.Type().Field(i), raw[k]); err != "" {
			return &SettingsError{Path: at, Msg: err}
		}
	}
	return nil
}

// setField sets one field from a YAML value; a value of the wrong kind
// gives what the field wants.
func setField(f reflect.Value, sf reflect.StructField, v any) string {
	want := sf.Tag.Get("want")
	switch f.Kind() {
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Sprintf("want true or false, got %v", v)
		}
		f.SetBool(b)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			if want == "" {
				want = "a string"
			}
			return fmt.Sprintf("want %s, got %v", want, v)
		}
		f.SetString(s)
	case reflect.Int:
		n, ok := wholeNumber(v)
		if !ok {
			return fmt.Sprintf("%v is not a whole number", v)
		}
		f.SetInt(n)
	case reflect.Slice:
		argv, ok := argvValue(v)
		if !ok {
			return "want a list of strings (a command and its arguments, no shell), e.g. [nginx, -t]"
		}
		f.Set(reflect.ValueOf(argv))
	default:
		panic("rotation: setting of an unsupported kind: " + sf.Name)
	}
	return ""
}

// wholeNumber reads YAML's numbers: 3 decodes as int, 3.0 as float64.
func wholeNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float64:
		return int64(n), n == math.Trunc(n) && math.Abs(n) < 1<<53
	}
	return 0, false
}

// argvValue reads a command as argv: a non-empty list of strings whose
// first is not blank.
func argvValue(v any) ([]string, bool) {
	var out []string
	switch l := v.(type) {
	case []string:
		out = l
	case []any:
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
	default:
		return nil, false
	}
	if len(out) == 0 || strings.TrimSpace(out[0]) == "" {
		return nil, false
	}
	return out, true
}

// settingNames lists a settings struct's setting names in field order.
func settingNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if n := t.Field(i).Tag.Get("setting"); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func fieldFold(t reflect.Type, key string) int {
	for i := range t.NumField() {
		if n := t.Field(i).Tag.Get("setting"); n != "" && strings.EqualFold(n, key) {
			return i
		}
	}
	return -1
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// andList joins names as "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

package usage

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

func TestErrorSaysFlagSpecAndMessageOnOneLine(t *testing.T) {
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{&Error{Flag: "--pool", Spec: "haproxy:x", Msg: "want ADDR#BACKEND"}, `--pool "haproxy:x": want ADDR#BACKEND`},
		{&Error{Flag: "--lock", Msg: "the only lock service is etcd"}, `--lock: the only lock service is etcd`},
		{&Error{Msg: "nothing to wait on"}, "nothing to wait on"},
		{&Error{Flag: "--source", Spec: "nginx:h", Err: errors.New("bad URL")}, `--source "nginx:h": bad URL`},
		{New("h", "a %d b", 1), "a 1 b"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.e, Err) {
			t.Errorf("%q is not usage.Err", tc.e)
		}
	}
}

func TestNewKeepsTheCause(t *testing.T) {
	cause := fs.ErrPermission
	e := New("check the mode", "open page: %w", cause)
	if !errors.Is(e, fs.ErrPermission) || e.Error() != "open page: "+cause.Error() || e.Hint != "check the mode" {
		t.Fatalf("New(%%w) = %q hint %q, cause kept %v", e, e.Hint, errors.Is(e, fs.ErrPermission))
	}
}

func TestWithHintNeverEditsTheText(t *testing.T) {
	plain := errors.New("action program not found")
	got := WithHint(plain, "check PATH")
	if got.Error() != plain.Error() || HintOf(got) != "check PATH" || !errors.Is(got, Err) || !errors.Is(got, plain) {
		t.Errorf("WithHint(plain) = %q hint %q", got, HintOf(got))
	}

	own := &Error{Flag: "--rotate", Spec: "x", Msg: "m", Hint: "the maker's"}
	if got := WithHint(own, "another"); !errors.Is(got, own) || HintOf(got) != "the maker's" {
		t.Errorf("WithHint kept %q, want the maker's hint", HintOf(got))
	}

	bare := Errorf("no server %q", "web3")
	got = WithHint(bare, "check the target")
	if got.Error() != bare.Error() || HintOf(got) != "check the target" || bare.Hint != "" {
		t.Errorf("WithHint(bare) = %q hint %q; the original's hint became %q", got, HintOf(got), bare.Hint)
	}

	deep := fmt.Errorf("read the pool: %w", Errorf("no upstream"))
	got = WithHint(deep, "name one")
	if got.Error() != deep.Error() || HintOf(got) != "name one" {
		t.Errorf("WithHint(deep) = %q hint %q", got, HintOf(got))
	}
	if WithHint(nil, "x") != nil {
		t.Error("WithHint(nil) is not nil")
	}
}

// TestSurgeryCheckFindsEachShape: the repository check finds every shape
// of text surgery it names (a check that finds nothing proves nothing).
func TestSurgeryCheckFindsEachShape(t *testing.T) {
	src := `package p
func a(err error) error {
	msg := strings.TrimPrefix(err.Error(), "rotation: ")
	s := err.Error()
	i := strings.Index(s, ": ")
	_ = usageErr("see --help", "%v", err)
	_ = configErrorf("%w", err)
	_ = usage.New("hint", "%s", err)
	_ = &UsageError{Msg: err.Error(), Hint: "h"}
	_ = strings.ReplaceAll(err.Error(), "a", "b")
	// fine: adding context, saying what is wrong, a message made here
	_ = fmt.Errorf("read pool: %w", err)
	_ = usageErr("h", "%s", msg)
	_ = usage.WithHint(err, "h")
	return nil
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, d := range f.Decls {
		found = append(found, surgeryIn(fset, d.(*ast.FuncDecl).Body)...)
	}
	want := []string{"p.go:3:", "p.go:5:", "p.go:6:", "p.go:7:", "p.go:8:", "p.go:9:", "p.go:10:"}
	if len(found) != len(want) {
		t.Fatalf("found %d, want %d:\n%s", len(found), len(want), strings.Join(found, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(found[i], w) {
			t.Errorf("finding %d = %q, want at %s", i, found[i], w)
		}
	}
}

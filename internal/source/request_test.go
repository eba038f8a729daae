package source

import (
	"context"
	"testing"
)

type noted struct{}

func (noted) Read(context.Context) (float64, error) { return 2, nil }
func (noted) Note() string                          { return "absent, counted as 0" }

// A source type with a registered lister is built as a RequestLister that
// asks the lister about its own target and keeps the source's Noter.
func TestRegisterLister(t *testing.T) {
	Register(Type{Name: "test-listed", New: func(string, Options) (Source, error) { return noted{}, nil }})
	t.Cleanup(func() { delete(types, "test-listed"); delete(listers, "test-listed") })
	var asked string
	RegisterLister("test-listed", func(_ context.Context, target string) ([]Request, error) {
		asked = target
		return []Request{{Verb: "POST", URL: "/upload.aspx", Client: "10.0.0.5", Elapsed: 42.187, Where: target}}, nil
	})
	src, err := New(Spec{Type: "test-listed", Target: "Shop Pool"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := src.(RequestLister)
	if !ok {
		t.Fatalf("%T is not a RequestLister", src)
	}
	rs, err := l.Requests(context.Background())
	if err != nil || len(rs) != 1 || asked != "Shop Pool" || rs[0].String() != "POST /upload.aspx 42s from 10.0.0.5" {
		t.Errorf("rs=%+v err=%v asked=%q", rs, err, asked)
	}
	if n, ok := src.(Noter); !ok || n.Note() != "absent, counted as 0" {
		t.Error("the wrapped source's note is lost")
	}
	if v, err := src.Read(context.Background()); v != 2 || err != nil {
		t.Errorf("Read = %v, %v", v, err)
	}

	// Other types are not listers.
	Register(Type{Name: "test-plain", New: func(string, Options) (Source, error) { return noted{}, nil }})
	t.Cleanup(func() { delete(types, "test-plain") })
	plain, _ := New(Spec{Type: "test-plain", Target: "x"}, Options{})
	if _, ok := plain.(RequestLister); ok {
		t.Error("a source type without a lister lists requests")
	}
}

// TestRegisterListerRefusesDuplicates: a second lister for one type panics
// (it would silently replace the first).
func TestRegisterListerRefusesDuplicates(t *testing.T) {
	RegisterLister("dup-test", nil)
	defer delete(listers, "dup-test")
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	RegisterLister("dup-test", nil)
}

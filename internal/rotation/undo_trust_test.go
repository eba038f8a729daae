package rotation

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
	"github.com/drain-cli/drain/internal/state"
)

// Issue 23 item 10: a record's undo data must never name a path or content
// the method could not have produced for its own target. A record edited by
// someone who may write the state directory must not make drain in rename
// another file onto the page, give the page another owner or set-id bits,
// or touch another HAProxy server.

func undoJSON(t *testing.T, u any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A disabled_path outside the page's directory (and not --disabled-name) is
// refused: drain in used to rename that file onto the page.
func TestInRefusesADisabledPathThatIsNotThePages(t *testing.T) {
	p := page(t, "OK")
	k, err := NewKeepalive(p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := k.Out(ctx, func(any) error { return nil }); err != nil || !changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	secret := filepath.Join(t.TempDir(), "secret.conf")
	if err := os.WriteFile(secret, []byte("password=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, planted := range []string{secret, p, filepath.Join(filepath.Dir(p), "sub", "x")} {
		undo := undoJSON(t, keepaliveUndo{Method: MethodRename, Path: p, DisabledPath: planted})
		changed, err := k.In(ctx, undo)
		if err == nil || changed || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), planted) || !strings.Contains(err.Error(), "--disabled-name") {
			t.Errorf("in with disabled_path %s: changed=%v err=%v; want refused, naming it, with a hint", planted, changed, err)
		}
		if b, err := os.ReadFile(secret); err != nil || string(b) != "password=x\n" {
			t.Fatalf("the planted file was moved: %q %v", b, err)
		}
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("with disabled_path %s something was put at the page", planted)
		}
	}
	// status (adopt) does not take it either.
	k.adopt(undoJSON(t, keepaliveUndo{Method: MethodRename, Path: p, DisabledPath: secret}))
	if k.DisabledPath != p+".disabled" {
		t.Errorf("status adopted disabled path %s", k.DisabledPath)
	}
	// The page's own disabled name still works.
	undo := undoJSON(t, keepaliveUndo{Method: MethodRename, Path: p, DisabledPath: p + ".disabled"})
	if changed, err := k.In(ctx, undo); err != nil || !changed {
		t.Fatalf("in with the page's own record: %v %v", changed, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "OK" {
		t.Errorf("page after in: %q", b)
	}
}

// A disabled name given as a path elsewhere is accepted when it is what
// --disabled-name says now.
func TestInAcceptsTheConfiguredDisabledPathElsewhere(t *testing.T) {
	p := page(t, "OK")
	parked := filepath.Join(t.TempDir(), "parked.htm")
	k, err := NewKeepalive(p, parked, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Out(ctx, func(any) error { return nil }); err != nil {
		t.Fatal(err)
	}
	undo := undoJSON(t, keepaliveUndo{Method: MethodRename, Path: p, DisabledPath: parked})
	plain, _ := NewKeepalive(p, "", nil)
	if changed, err := plain.In(ctx, undo); err == nil || changed || !strings.Contains(err.Error(), "--disabled-name "+parked) {
		t.Errorf("in without --disabled-name: %v %v; want refused with the hint to give it", changed, err)
	}
	if changed, err := k.In(ctx, undo); err != nil || !changed {
		t.Fatalf("in with --disabled-name: %v %v", changed, err)
	}
}

// Content mode: the record's owner and mode are not applied. A page owned
// by root, 0644, stays so whatever the record claims (an owner that would
// hand the page to a group member, setuid, world-writable).
func TestContentModeInTakesNoOwnerOrModeFromTheRecord(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no numeric owners or mode bits on Windows")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root, whose in could chown (CI runs as root)")
	}
	p := page(t, "UP")
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	k := content(t, &Keepalive{Path: p}, "DOWN")
	var saved json.RawMessage
	if _, err := k.Out(ctx, func(u any) error { saved = undoJSON(t, u); return nil }); err != nil {
		t.Fatal(err)
	}
	var u keepaliveUndo
	if err := json.Unmarshal(saved, &u); err != nil {
		t.Fatal(err)
	}
	u.OrigMode = fs.ModeSetuid | fs.ModeSetgid | 0o777
	u.OrigOwner = &state.Owner{UID: 65534, GID: 65534}
	if changed, err := k.In(ctx, undoJSON(t, u)); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if o := fileOwner(fi); o == nil || o.UID != 0 || o.GID != 0 || fi.Mode() != 0o644 {
		t.Errorf("page after in: owner %+v mode %v; want root's, -rw-r--r-- as before out", o, fi.Mode())
	}
	if b, _ := os.ReadFile(p); string(b) != "UP" {
		t.Errorf("page after in: %q", b)
	}
}

// Content mode: original bytes larger than a page out could have read are
// refused.
func TestContentModeInRefusesAnOversizedOriginal(t *testing.T) {
	p := page(t, "UP")
	k := content(t, &Keepalive{Path: p}, "DOWN")
	var saved json.RawMessage
	if _, err := k.Out(ctx, func(u any) error { saved = undoJSON(t, u); return nil }); err != nil {
		t.Fatal(err)
	}
	var u keepaliveUndo
	if err := json.Unmarshal(saved, &u); err != nil {
		t.Fatal(err)
	}
	u.Original = make([]byte, maxPage+1)
	if changed, err := k.In(ctx, undoJSON(t, u)); err == nil || changed || !errors.Is(err, ErrConfig) {
		t.Errorf("in: %v %v; want refused", changed, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "DOWN" {
		t.Errorf("page after a refused in: %d bytes, want DOWN", len(b))
	}
}

// HAProxy's undo holds the state before out of each server: an entry naming
// a server or backend other than the target's, or a state drain never
// records, is refused; nothing is changed.
func TestHAProxyInRefusesUndoOfAnotherServer(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b", "api/a")
	h := newHA(t, lb.Addr+"#web/a")
	lb.Set("web/a", haproxytest.Server{Admin: 0x08})
	for _, bad := range []haServer{
		{Addr: lb.Addr, Backend: "web", Server: "b", Before: haReady, Changed: true},
		{Addr: lb.Addr, Backend: "api", Server: "a", Before: haReady, Changed: true},
		{Addr: "127.0.0.1:1", Backend: "web", Server: "a", Before: haReady, Changed: true},
		{Addr: lb.Addr, Backend: "web", Server: "a", Before: "ready\nset server web/b state maint", Changed: true},
	} {
		changed, err := h.In(ctx, undoJSON(t, haUndo{HAProxy: []haServer{bad}}))
		if err == nil || changed || !errors.Is(err, ErrConfig) {
			t.Errorf("in with undo %+v: %v %v; want refused", bad, changed, err)
		}
		if lb.Get("web/a").Admin != 0x08 {
			t.Fatalf("web/a changed by a refused in: admin %#x", lb.Get("web/a").Admin)
		}
	}
	ok := haServer{Addr: lb.Addr, Backend: "web", Server: "a", Before: haReady, Changed: true}
	if changed, err := h.In(ctx, undoJSON(t, haUndo{HAProxy: []haServer{ok}})); err != nil || !changed || lb.Get("web/a").Admin != 0 {
		t.Errorf("in with its own undo: %v %v, admin %#x", changed, err, lb.Get("web/a").Admin)
	}
}

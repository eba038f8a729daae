package rotation

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/state"
)

// outIn takes k out and back in through a real state store, as the CLI does:
// the record goes through JSON between the two.
func outIn(t *testing.T, out, in *Keepalive) (changedIn bool, err error) {
	t.Helper()
	store := state.Store{Dir: t.TempDir()}
	rec := &state.Record{}
	if changed, err := one(t, out).Out(ctx, rec, saveIn(store)); err != nil || !changed {
		t.Fatalf("out: changed=%v err=%v", changed, err)
	}
	loaded, err := LoadRecord(store, one(t, in))
	if err != nil || loaded == nil {
		t.Fatalf("record after out: %v %v", loaded, err)
	}
	return one(t, in).In(ctx, loaded)
}

func content(t *testing.T, k *Keepalive, down string) *Keepalive {
	t.Helper()
	c, err := NewKeepalive(k.Path, "", &down)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestContentModeRestoresAnEmptyPage(t *testing.T) {
	p := page(t, "")
	out := content(t, &Keepalive{Path: p}, "DOWN")
	in, _ := NewKeepalive(p, "", nil) // drain in without --down-content
	if changed, err := outIn(t, out, in); err != nil || !changed {
		t.Fatalf("in: changed=%v err=%v", changed, err)
	}
	if b, _ := os.ReadFile(p); len(b) != 0 {
		t.Errorf("page after in = %q, want it empty again", b)
	}
}

func TestContentModeInLeavesAPageChangedSinceOut(t *testing.T) {
	for _, flag := range []bool{false, true} {
		p := page(t, "UP v1")
		store := state.Store{Dir: t.TempDir()}
		k := content(t, &Keepalive{Path: p}, "DOWN")
		if _, err := one(t, k).Out(ctx, &state.Record{}, saveIn(store)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("UP v2"), 0o640); err != nil { // a deploy
			t.Fatal(err)
		}
		rec, _ := LoadRecord(store, one(t, k))
		in, _ := NewKeepalive(p, "", nil)
		in.ForceRestore = flag
		changed, err := one(t, in).In(ctx, rec)
		b, _ := os.ReadFile(p)
		if !flag {
			if !errors.Is(err, ErrPageChanged) || errors.Is(err, ErrConfig) || changed {
				t.Errorf("in over a changed page: changed=%v err=%v, want ErrPageChanged", changed, err)
			}
			if string(b) != "UP v2" {
				t.Errorf("page after in = %q; the deployed page was overwritten", b)
			}
			continue
		}
		if err != nil || !changed || string(b) != "UP v1" {
			t.Errorf("in --force-restore: changed=%v err=%v page %q, want the original back", changed, err, b)
		}
	}
}

func TestContentModeKeepsASymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need a privilege on Windows")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "shared", "keepalive.htm")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "keepalive.htm")
	if err := os.Symlink("shared/keepalive.htm", link); err != nil {
		t.Fatal(err)
	}
	k := content(t, &Keepalive{Path: link}, "DOWN")
	check := func(when, want string) {
		t.Helper()
		if dest, err := os.Readlink(link); err != nil || dest != "shared/keepalive.htm" {
			t.Errorf("%s: the page is no longer the symlink (%q, %v)", when, dest, err)
		}
		if b, _ := os.ReadFile(target); string(b) != want {
			t.Errorf("%s: link target holds %q, want %q", when, b, want)
		}
	}
	store := state.Store{Dir: t.TempDir()}
	rec := &state.Record{}
	if _, err := one(t, k).Out(ctx, rec, saveIn(store)); err != nil {
		t.Fatal(err)
	}
	check("after out", "DOWN")
	if _, err := one(t, k).In(ctx, rec); err != nil {
		t.Fatal(err)
	}
	check("after in", "UP")
}

// nginx workers run as nobody: a page only nobody may read must stay so.
func TestContentModeKeepsOwnerGroupAndMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no numeric owners on Windows; ReplaceFileW keeps the ACL (TestContentModeKeepsAttributesOnWindows)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the page to nobody (CI runs as root)")
	}
	const nobody = 65534
	p := page(t, "UP")
	if err := os.Chown(p, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		o := fileOwner(fi)
		if o == nil || o.UID != nobody || o.GID != nobody || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: owner %+v mode %v, want %d:%d 0600", when, o, fi.Mode().Perm(), nobody, nobody)
		}
	}
	k := content(t, &Keepalive{Path: p}, "DOWN")
	in, _ := NewKeepalive(p, "", nil)
	store := state.Store{Dir: t.TempDir()}
	if _, err := one(t, k).Out(ctx, &state.Record{}, saveIn(store)); err != nil {
		t.Fatal(err)
	}
	check("after out")
	rec, _ := LoadRecord(store, one(t, k))
	if changed, err := one(t, in).In(ctx, rec); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	check("after in")
	if b, _ := os.ReadFile(p); string(b) != "UP" {
		t.Errorf("page after in = %q", b)
	}
}

func TestKeepalivePathMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "www")
	if err := os.MkdirAll(filepath.Join(sub, "img"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{"directory": sub}
	if runtime.GOOS != "windows" {
		dangling := filepath.Join(dir, "dangling.htm")
		if err := os.Symlink(filepath.Join(dir, "gone.htm"), dangling); err != nil {
			t.Fatal(err)
		}
		cases["dangling symlink"] = dangling
		cases["fifo"] = mkfifo(t, filepath.Join(dir, "fifo.htm"))
	}
	down := "DOWN"
	for name, p := range cases {
		for _, dc := range []*string{nil, &down} {
			if _, err := NewKeepalive(p, "", dc); !errors.Is(err, ErrConfig) {
				t.Errorf("%s: NewKeepalive err = %v, want ErrConfig", name, err)
			}
			// The path may turn bad after the flags were checked.
			k := &Keepalive{Path: p, DisabledPath: p + ".disabled"}
			if dc != nil {
				k.DownContent = []byte(*dc)
			}
			var err error
			saved := 0
			done := make(chan error, 1)
			go func() {
				_, err := one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { saved++; return nil })
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("%s (%s): out hangs", name, k.method())
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%s (%s): err = %v, want ErrConfig", name, k.method(), err)
			}
			if saved != 0 {
				t.Errorf("%s (%s): a record was saved", name, k.method())
			}
			if _, err := os.Lstat(p + ".disabled"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s (%s): renamed away", name, k.method())
			}
			if _, err := one(t, k).In(ctx, nil); !errors.Is(err, ErrConfig) {
				t.Errorf("%s (%s): in: err = %v, want ErrConfig", name, k.method(), err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(sub, "img")); err != nil {
		t.Errorf("directory contents changed: %v", err)
	}
}

func TestKeyIsTheResolvedPage(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need a privilege on Windows")
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "keepalive.htm"), []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "current")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real/keepalive.htm", filepath.Join(dir, "ka.htm")); err != nil {
		t.Fatal(err)
	}
	key := func(p string) string {
		k, err := NewKeepalive(p, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		return k.Target()
	}
	want := key(filepath.Join(real, "keepalive.htm"))
	for _, p := range []string{filepath.Join(dir, "current", "keepalive.htm"), filepath.Join(dir, "ka.htm"), filepath.Join(dir, "current", ".", "keepalive.htm")} {
		if got := key(p); got != want {
			t.Errorf("key(%s) = %s, want %s", p, got, want)
		}
	}
	// While renamed away (rename mode), the key stays the same.
	k, _ := NewKeepalive(filepath.Join(dir, "ka.htm"), "", nil)
	if _, err := one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := key(filepath.Join(dir, "ka.htm")); got != want {
		t.Errorf("key of the symlinked page while out = %s, want %s", got, want)
	}
	if got := key(filepath.Join(dir, "current", "keepalive.htm")); got != want {
		t.Errorf("key of the page via the symlinked dir = %s, want %s", got, want)
	}
	if _, _, typed := k.v1Key(); typed != filepath.Join(dir, "ka.htm") {
		t.Errorf("legacy key = %s, want the path as typed", typed)
	}
}

// A failed read still says IN or OUT when that much is known, so that a run
// refused before any change can say where the server stands.
func TestStatusWithAnErrorStillSaysWhatIsKnown(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.htm")
	down := "DOWN"
	for _, dc := range []*string{nil, &down} {
		k := &Keepalive{Path: missing, DisabledPath: missing + ".disabled"}
		if dc != nil {
			k.DownContent = []byte(*dc)
		}
		if st, err := k.Status(ctx); st != Out || !errors.Is(err, ErrConfig) {
			t.Errorf("missing page (%s): %s %v, want OUT (the probe gets 404) with ErrConfig", k.method(), st, err)
		}
	}
	p := page(t, "UP")
	if err := os.WriteFile(p+".disabled", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	k, _ := NewKeepalive(p, "", nil)
	if st, err := k.Status(ctx); st != In || !errors.Is(err, ErrConfig) {
		t.Errorf("both names: %s %v, want IN (the page is there) with ErrConfig", st, err)
	}
}

// A relative symlink renamed to a disabled name in another directory points
// nowhere from there: in must still put it back, under the same key.
func TestSymlinkedPageDisabledElsewhere(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need a privilege on Windows")
	}
	dir := t.TempDir()
	for _, d := range []string{"www", "parked"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "www", "real.htm"), []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "www", "keepalive.htm")
	if err := os.Symlink("real.htm", link); err != nil {
		t.Fatal(err)
	}
	parked := filepath.Join(dir, "parked", "keepalive.htm")
	k, err := NewKeepalive(link, parked, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := state.Store{Dir: t.TempDir()}
	if _, err := one(t, k).Out(ctx, &state.Record{}, saveIn(store)); err != nil {
		t.Fatal(err)
	}
	k2, err := NewKeepalive(link, parked, nil)
	if err != nil {
		t.Fatalf("while out: %v", err)
	}
	if k2.Target() != k.Target() {
		t.Errorf("key while out %s, at out %s", k2.Target(), k.Target())
	}
	rec, _ := LoadRecord(store, one(t, k2))
	if changed, err := one(t, k2).In(ctx, rec); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if b, err := os.ReadFile(link); err != nil || string(b) != "UP" {
		t.Errorf("page after in: %q %v", b, err)
	}
}

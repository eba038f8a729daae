package rotation

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/testutil"
)

func attrs(t *testing.T, p string) uint32 {
	t.Helper()
	name, _ := windows.UTF16PtrFromString(p)
	a, err := windows.GetFileAttributes(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func setAttrs(t *testing.T, p string, a uint32) {
	t.Helper()
	name, _ := windows.UTF16PtrFromString(p)
	if err := windows.SetFileAttributes(name, a); err != nil {
		t.Fatal(err)
	}
}

// ReplaceFileW keeps the page's attributes (and ACL), where a rename of a
// temporary file would give the page the temporary file's.
func TestContentModeKeepsAttributesOnWindows(t *testing.T) {
	p := filepath.Join(testutil.TempDir(t), "keepalive.htm")
	if err := os.WriteFile(p, []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	setAttrs(t, p, windows.FILE_ATTRIBUTE_SYSTEM)
	down := "DOWN"
	k, _ := NewKeepalive(p, "", &down)
	rec := &state.Record{}
	if _, err := one(t, k).Out(ctx, rec, func(*state.Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "DOWN" {
		t.Errorf("page after out = %q", b)
	}
	if a := attrs(t, p); a&windows.FILE_ATTRIBUTE_SYSTEM == 0 {
		t.Errorf("attributes after out = %#x, the system attribute was lost", a)
	}
	if _, err := one(t, k).In(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "UP" {
		t.Errorf("page after in = %q", b)
	}
	if a := attrs(t, p); a&windows.FILE_ATTRIBUTE_SYSTEM == 0 {
		t.Errorf("attributes after in = %#x, the system attribute was lost", a)
	}
	if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) != 1 {
		t.Errorf("files left next to the page: %v", entries)
	}
}

// A page held open without delete sharing (IIS, a scanner) is retried as
// renames are, then fails with nothing changed.
func TestContentModeHeldPageIsRetriedThenFailsCleanly(t *testing.T) {
	p := filepath.Join(testutil.TempDir(t), "keepalive.htm")
	if err := os.WriteFile(p, []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p) // shares read and write, not delete
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	down := "DOWN"
	k, _ := NewKeepalive(p, "", &down)
	start := time.Now()
	_, err = one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "held open by another process") {
		t.Fatalf("out of a held page: err = %v", err)
	}
	if took := time.Since(start); took < renameRetries*renameDelay/2 {
		t.Errorf("gave up after %s: no retries", took)
	}
	if b, _ := os.ReadFile(p); string(b) != "UP" {
		t.Errorf("page after the failure = %q, want it untouched", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) != 1 {
		t.Errorf("files left next to the page: %v", entries)
	}
}

func TestAccessDeniedIsSaidAsSuch(t *testing.T) {
	p := filepath.Join(testutil.TempDir(t), "keepalive.htm")
	if err := os.WriteFile(p, []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	setAttrs(t, p, windows.FILE_ATTRIBUTE_READONLY)
	t.Cleanup(func() { setAttrs(t, p, windows.FILE_ATTRIBUTE_NORMAL) })
	down := "DOWN"
	k, _ := NewKeepalive(p, "", &down)
	_, err := one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { return nil })
	t.Logf("err = %v (access denied: %v)", err, errors.Is(err, windows.ERROR_ACCESS_DENIED))
	if err == nil {
		t.Skip("this Windows replaced a read-only page: cannot provoke access denied here")
	}
	if !strings.Contains(err.Error(), "access denied") || strings.Contains(err.Error(), "held open") {
		t.Errorf("err = %v, want it said as access denied", err)
	}
}

// Wine running as root cannot refuse a rename for lack of rights, so the
// classification is tested on real errors' codes against real files: access
// denied on a page nobody else holds is drain's own lack of rights (not
// retried, said as access denied); on a held page it is the holder.
func TestAccessDeniedIsNotTakenForHeldOpen(t *testing.T) {
	p := filepath.Join(testutil.TempDir(t), "keepalive.htm")
	if err := os.WriteFile(p, []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	denied := &os.LinkError{Op: "rename", Old: p, New: p + ".disabled", Err: windows.ERROR_ACCESS_DENIED}
	if transient(p, denied) {
		t.Error("access denied on a page no one holds is retried as if held open")
	}
	if msg := explain(p, denied).Error(); !strings.Contains(msg, "access denied: drain's user may not rename") {
		t.Errorf("explained as %q", msg)
	}
	f, err := os.Open(p) // without delete sharing, as IIS or a scanner
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if !transient(p, denied) {
		t.Error("access denied on a page held open by another handle is not retried")
	}
}

// ReplaceFileW without a backup name can fail half-way (its documentation,
// learn.microsoft.com replacefilew, Return value): 1176
// ERROR_UNABLE_TO_MOVE_REPLACEMENT, "the replaced file no longer exists and
// the replacement file exists under its original name"; 1177
// ERROR_UNABLE_TO_MOVE_REPLACEMENT_2, "the file to be replaced still exists
// with a different name" and the replacement under its own. Wine cannot be
// made to fail so: replaceFile is replaced by one that leaves the files as
// documented. The page must exist afterwards, with the new content, and no
// temporary file may be left.
func TestReplaceFileHalfDone(t *testing.T) {
	for _, tc := range []struct {
		code windows.Errno
		play func(replaced, replacement string) error
	}{
		{1176, func(replaced, _ string) error { return os.Remove(replaced) }},
		{1177, func(replaced, _ string) error {
			return os.Rename(replaced, filepath.Join(filepath.Dir(replaced), "rfe1A2B.tmp"))
		}},
	} {
		t.Run(strconv.Itoa(int(tc.code)), func(t *testing.T) {
			dir := t.TempDir()
			page := filepath.Join(dir, "keepalive.htm")
			if err := os.WriteFile(page, []byte("OK"), 0o644); err != nil {
				t.Fatal(err)
			}
			was := replaceFileFn
			replaceFileFn = func(replaced, replacement string) error {
				if err := tc.play(replaced, replacement); err != nil {
					t.Fatal(err)
				}
				return tc.code
			}
			t.Cleanup(func() { replaceFileFn = was })
			if err := replacePage(page, []byte("DOWN"), pageMeta{}); err != nil {
				t.Fatalf("replacePage: %v", err)
			}
			if b, err := os.ReadFile(page); err != nil || string(b) != "DOWN" {
				t.Fatalf("page after a half-done ReplaceFileW (%d): %q %v", tc.code, b, err)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".keepalive.htm.tmp*"))
			if len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

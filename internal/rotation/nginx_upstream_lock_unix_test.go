//go:build !windows

package rotation

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestNginxUpstreamLockFileNotFollowed: something other than a regular
// file planted where the upstream file's lock goes (a symlink to a file
// root would otherwise open, a FIFO) is refused before anything changes,
// and the symlink's target is neither created nor touched.
func TestNginxUpstreamLockFileNotFollowed(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "up.conf")
	orig := "server 10.0.0.5:8080;\nserver 10.0.0.6:8080;\n"
	noErr(t, os.WriteFile(f, []byte(orig), 0o640))
	secret := filepath.Join(dir, "secret")
	noErr(t, os.WriteFile(secret, []byte("root only\n"), 0o600))
	ok := map[string]any{"test": okCmd(), "reload": okCmd()}
	m := newUpstream(t, f+"#10.0.0.5:8080", Options{Settings: ok})
	for _, tc := range []struct {
		name  string
		plant func(lock string) error
		want  string
	}{
		{"symlink to a file", func(lock string) error { return os.Symlink(secret, lock) }, "is a symbolic link"},
		{"symlink to nothing", func(lock string) error { return os.Symlink(filepath.Join(dir, "created"), lock) }, "is a symbolic link"},
		{"fifo", func(lock string) error { return syscall.Mkfifo(lock, 0o600) }, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lock := f + ".drain-lock"
			_ = os.Remove(lock)
			noErr(t, tc.plant(lock))
			defer os.Remove(lock)
			_, err := m.Out(context.Background(), func(any) error { t.Error("save called"); return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), lock) {
				t.Fatalf("out: %v, want %q naming %s", err, tc.want, lock)
			}
			if b, _ := os.ReadFile(f); string(b) != orig {
				t.Errorf("upstream file changed: %q", b)
			}
			if fi, err := os.Stat(secret); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("symlink target touched: %v %v", fi.Mode(), err)
			}
			if b, _ := os.ReadFile(secret); string(b) != "root only\n" {
				t.Errorf("symlink target written: %q", b)
			}
			if _, err := os.Lstat(filepath.Join(dir, "created")); err == nil {
				t.Error("the symlink's target was created")
			}
		})
	}
	// A plain lock file left by an earlier change is used as it is.
	if changed, err := m.Out(context.Background(), func(any) error { return nil }); err != nil || !changed {
		t.Fatalf("out with no lock planted: %v %v", changed, err)
	}
	if fi, err := os.Lstat(f + ".drain-lock"); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("lock file: %v %v", fi.Mode(), err)
	}
}

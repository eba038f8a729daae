package denied

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/testutil"
)

func TestWrapHintsOnlyAPermissionError(t *testing.T) {
	dir := testutil.TempDir(t)
	other := fmt.Errorf("open x: %w", fs.ErrNotExist)
	if got := Wrap(other, dir, "fix GROUP"); !errors.Is(got, fs.ErrNotExist) || got.Error() != other.Error() {
		t.Errorf("a missing file became %v", got)
	} else if _, ok := got.(interface{ Hint() string }); ok {
		t.Errorf("a missing file got a hint")
	}
	if Wrap(nil, dir, "x") != nil {
		t.Error("Wrap(nil) is not nil")
	}

	perm := fmt.Errorf("take page out: %w", &fs.PathError{Op: "rename", Path: filepath.Join(dir, "p"), Err: fs.ErrPermission})
	got := Wrap(perm, dir, "join group GROUP")
	var h interface{ Hint() string }
	if !errors.As(got, &h) || got.Error() != perm.Error() || !errors.Is(got, fs.ErrPermission) {
		t.Fatalf("Wrap(permission) = %v, hint %v", got, h)
	}
	hint := h.Hint()
	if !strings.Contains(hint, dir) || !strings.Contains(hint, "drain runs as ") || strings.Contains(hint, "GROUP") {
		t.Errorf("hint %q: want the path, the account and the group filled in", hint)
	}
	if runtime.GOOS != "windows" && (!strings.Contains(hint, " is owned by ") || !strings.Contains(hint, " with mode d")) {
		t.Errorf("hint %q: want the owner and mode of %s", hint, dir)
	}
	if again := Wrap(got, "/elsewhere", "other"); again != got { //nolint:errorlint // the same error, not a copy
		t.Errorf("a second Wrap replaced the first hint: %v", again)
	}
}

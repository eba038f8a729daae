package rotation

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/testutil"
)

func heldPage(t *testing.T) (*Keepalive, *os.File) {
	t.Helper()
	p := filepath.Join(testutil.TempDir(t), "keepalive.htm")
	if err := os.WriteFile(p, []byte("OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := NewKeepalive(p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// As IIS or a scanner does: open without FILE_SHARE_DELETE (os.Open on
	// Windows shares read and write only), so a rename is refused.
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return k, f
}

func TestRenameOfAHeldPageFailsCleanly(t *testing.T) {
	k, _ := heldPage(t)
	saved := 0
	start := time.Now()
	changed, err := one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { saved++; return nil })
	took := time.Since(start)
	if err == nil || changed {
		t.Fatalf("Out of a held page: changed=%v err=%v", changed, err)
	}
	t.Logf("error after %s: %v (access denied: %v, sharing violation: %v)", took.Round(time.Millisecond), err,
		errors.Is(err, windows.ERROR_ACCESS_DENIED), errors.Is(err, windows.ERROR_SHARING_VIOLATION))
	if !strings.Contains(err.Error(), "still held open by another process after 2s") {
		t.Errorf("err = %v, want the held-open explanation", err)
	}
	if took < renameRetries*renameDelay/2 {
		t.Errorf("gave up after %s: no retries", took)
	}
	if b, err := os.ReadFile(k.Path); err != nil || string(b) != "OK\n" {
		t.Errorf("page after the failure: %q, %v (must be untouched)", b, err)
	}
	if _, err := os.Stat(k.DisabledPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("disabled page exists after a failed rename: %v", err)
	}
	if st, err := k.Status(ctx); st != In || err != nil {
		t.Errorf("status = %s, %v; want IN", st, err)
	}
}

func TestRenameSucceedsOnceThePageIsReleased(t *testing.T) {
	k, f := heldPage(t)
	go func() {
		time.Sleep(500 * time.Millisecond)
		_ = f.Close()
	}()
	start := time.Now()
	changed, err := one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { return nil })
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Errorf("renamed after %s, while the page was still held", took)
	}
	if st, _ := k.Status(ctx); st != Out {
		t.Errorf("status = %s, want OUT", st)
	}
}

func TestPutBackOfAHeldPageFailsCleanly(t *testing.T) {
	k, f := heldPage(t)
	_ = f.Close()
	if _, err := one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(k.DisabledPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	if _, err := one(t, k).In(ctx, nil); err == nil || !strings.Contains(err.Error(), "held open") {
		t.Errorf("In of a held page: err = %v", err)
	}
	if st, _ := k.Status(ctx); st != Out {
		t.Errorf("status = %s, want still OUT (nothing half done)", st)
	}
}

// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TempDir is t.TempDir for tests that also run under Wine: there, Go 1.26's
// os.RemoveAll fails on any directory holding a file ("unlinkat ...: Invalid
// function"), which fails the test in cleanup, while os.Remove works. So the
// cleanup removes entries one by one, deepest first, and reports what it
// could not remove. Elsewhere t.TempDir is the simpler choice.
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "drain-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		_ = filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error {
			paths = append(paths, p)
			return nil
		})
		slices.Reverse(paths)
		for _, p := range paths {
			if err := os.Remove(p); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return dir
}

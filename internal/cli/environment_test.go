package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEnvironmentNamesEveryVariable: every DRAIN_* variable the code of
// drain reads (a whole name in quotes in a Go file that is not a test's)
// is in Environment(), which the man pages' ENVIRONMENT is made from.
func TestEnvironmentNamesEveryVariable(t *testing.T) {
	names := map[string]bool{}
	for _, e := range Environment() {
		for _, n := range strings.Split(e.Name, ", ") {
			names[n] = true
		}
	}
	re := regexp.MustCompile(`"(DRAIN_[A-Z0-9_]*[A-Z0-9])"`)
	found := 0
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join("..", "..", top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				// Tests and their helpers: they set variables, drain does not read them.
				switch n := d.Name(); {
				case n == "testbed", n == "testutil", n == "e2e", n == "testdata", strings.HasSuffix(n, "test"):
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				found++
				if !names[m[1]] {
					t.Errorf("%s reads %s, which Environment() (the man pages' ENVIRONMENT) does not name", filepath.ToSlash(path), m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found < 10 {
		t.Fatalf("found only %d DRAIN_* names in the code: the scan is broken", found)
	}
}

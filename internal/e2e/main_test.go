package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain points the machine's config file (/etc/drain/drain.yaml, read
// when present) at a path that does not exist, for every drain these tests
// start with this environment: a config file on the machine that runs them
// must not change what they prove.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drain-e2e-etc")
	if err == nil {
		// Tests run drain as other accounts too (nobody): they must find the
		// file absent, not be refused the directory.
		_ = os.Chmod(dir, 0o755)
		_ = os.Setenv("DRAIN_SYSTEM_CONFIG", filepath.Join(dir, "absent", "drain.yaml"))
	}
	code := m.Run()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

package action

import (
	"os"
	"testing"
)

// With DRAIN_TEST_SPAWN set, the test binary is the action a test runs: it
// starts a child and writes the process ids to that file (spawnTree).
func TestMain(m *testing.M) {
	if pidFile := os.Getenv("DRAIN_TEST_SPAWN"); pidFile != "" {
		os.Exit(spawnTree(pidFile))
	}
	os.Exit(m.Run())
}

package action

import (
	"os"
	"os/exec"
	"strconv"
	"time"
)

// spawnTree is the test binary acting as an action that starts a child and
// hangs (DRAIN_TEST_SPAWN=pidfile): the child writes its pid and hangs too.
// With DRAIN_TEST_PARENT_EXITS the parent exits at once instead. Both
// give up after 30 s, so a test that fails cannot leave them forever.
func spawnTree(pidFile string) int {
	if os.Getenv("DRAIN_TEST_CHILD") != "" {
		_ = os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o600)
		time.Sleep(30 * time.Second)
		return 0
	}
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "DRAIN_TEST_CHILD=1")
	if err := child.Start(); err != nil {
		return 3
	}
	if os.Getenv("DRAIN_TEST_PARENT_EXITS") != "" {
		return 0
	}
	time.Sleep(30 * time.Second)
	return 0
}

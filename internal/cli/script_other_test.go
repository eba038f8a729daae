//go:build !windows

package cli

import (
	"fmt"
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

// exec-limited is Windows only (a limited token); see script_windows_test.go.
func cmdExecLimited(ts *testscript.TestScript, _ bool, _ []string) {
	ts.Fatalf("exec-limited works only on Windows: guard it with [windows]")
}

// scriptCondition knows [limited] and [pdhstub], never true here, and
// [root].
func scriptCondition(cond string) (bool, error) {
	if cond == "root" {
		return os.Geteuid() == 0, nil
	}
	if cond != "limited" && cond != "pdhstub" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	return false, nil
}

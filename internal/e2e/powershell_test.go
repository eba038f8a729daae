//go:build !windows

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPowerShellParses shows that the PowerShell parse check
// (scripts/pscheck, tree-sitter's PowerShell grammar) works: a copy of
// install.ps1 with its last brace removed must fail it. Every script the
// repository ships is checked by TestEveryPowerShellScriptParses, in one
// run of node (each run costs about 10 s of CPU).
func TestPowerShellParses(t *testing.T) {
	root, err := filepath.Abs("../..")
	must(t, err)
	check := requirePSCheck(t, root)
	ps := string(mustRead(t, filepath.Join(root, "scripts", "install.ps1")))
	broken := filepath.Join(t.TempDir(), "broken.ps1")
	must(t, os.WriteFile(broken, []byte(ps[:strings.LastIndex(ps, "}")]), 0o644))
	if out, err := exec.Command("node", filepath.Join(check, "parse.cjs"), broken).CombinedOutput(); err == nil {
		t.Errorf("the check passed install.ps1 without its last brace:\n%s", out)
	}
}

// requirePSCheck returns scripts/pscheck, skipping (or failing with
// DRAIN_E2E=require) when node or its packages are not installed.
func requirePSCheck(t *testing.T, root string) string {
	t.Helper()
	check := filepath.Join(root, "scripts", "pscheck")
	_, nodeErr := exec.LookPath("node")
	if _, err := os.Stat(filepath.Join(check, "node_modules", "web-tree-sitter")); err != nil || nodeErr != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("node or scripts/pscheck/node_modules missing and DRAIN_E2E=require: (cd scripts/pscheck && npm ci --ignore-scripts)")
		}
		t.Skip("scripts/pscheck not installed (scripts/test.sh runs npm ci there)")
	}
	return check
}

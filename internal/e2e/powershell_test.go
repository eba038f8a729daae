//go:build !windows

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestPowerShellParses parse-checks the PowerShell this repository ships
// for Windows hosts, which cannot run here (no PowerShell on Linux CI):
// scripts/install.ps1, the Octopus step template's drain-windows.ps1, the
// Chocolatey package's install and uninstall scripts (as scripts/chocolatey
// fills them in), the setup action's
// pwsh step and the Ansible role's win_powershell script, with tree-sitter's PowerShell grammar
// (scripts/pscheck). A copy of install.ps1 with its last brace removed must
// fail the check, so the check itself is known to work.
func TestPowerShellParses(t *testing.T) {
	root, err := filepath.Abs("../..")
	must(t, err)
	check := requirePSCheck(t, root)
	dir := t.TempDir()
	files := []string{filepath.Join(root, "scripts", "install.ps1"), filepath.Join(root, "packaging", "octopus", "drain-windows.ps1")}
	// The Chocolatey scripts as the release process writes them (only
	// checksums.txt is read: its zips need not exist).
	sums := filepath.Join(dir, "checksums.txt")
	must(t, os.WriteFile(sums, []byte(strings.Repeat("a", 64)+"  drain_1.2.3_windows_amd64.zip\n"+strings.Repeat("b", 64)+"  drain_1.2.3_windows_arm64.zip\n"), 0o644))
	choco := filepath.Join(dir, "chocolatey")
	gen := exec.Command("go", "run", "./scripts/chocolatey", "-version", "1.2.3", "-checksums", sums, "-out", choco)
	gen.Dir = root
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("scripts/chocolatey: %v\n%s", err, out)
	}
	files = append(files, filepath.Join(choco, "tools", "chocolateyinstall.ps1"), filepath.Join(choco, "tools", "chocolateyuninstall.ps1"))
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(text), 0o644))
		files = append(files, p)
	}

	var action struct {
		Runs struct {
			Steps []struct {
				Name, Shell, Run string
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	must(t, yaml.Unmarshal(mustRead(t, filepath.Join(root, "action.yml")), &action))
	for i, s := range action.Runs.Steps {
		if s.Shell == "pwsh" || s.Shell == "powershell" {
			write("action-step-"+string(rune('a'+i))+".ps1", s.Run)
		}
	}
	var tasks []map[string]any
	must(t, yaml.Unmarshal(mustRead(t, filepath.Join(root, "packaging", "ansible", "ansible_collections", "drain_cli", "drain", "roles", "install", "tasks", "windows.yml")), &tasks))
	for _, task := range tasks {
		if m, ok := task["ansible.windows.win_powershell"].(map[string]any); ok {
			write("role-win-powershell.ps1", m["script"].(string))
		}
	}
	if len(files) < 6 {
		t.Fatalf("found %d PowerShell scripts, want install.ps1, drain-windows.ps1, the Chocolatey scripts, the action's pwsh step and the role's script", len(files))
	}
	cmd := exec.Command("node", append([]string{filepath.Join(check, "parse.cjs")}, files...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("PowerShell syntax: %v\n%s", err, out)
	}

	ps := string(mustRead(t, files[0]))
	broken := filepath.Join(dir, "broken.ps1")
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

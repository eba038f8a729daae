//go:build !windows

package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/drain-cli/drain/internal/winps"
)

// TestEveryPowerShellScriptParses parse-checks every piece of PowerShell the
// repository ships or runs on Windows, found rather than listed, with
// tree-sitter's PowerShell grammar (scripts/pscheck; no PowerShell on the
// Linux CI): each *.ps1, *.psm1 and *.psd1 file (scripts/install.ps1,
// scripts/windows, packaging/octopus and whatever packaging adds), the
// pwsh and powershell steps of the setup action and of the GitHub workflows
// (on a Windows runner a step without a shell is pwsh), the Ansible role's
// win_powershell scripts, and the scripts drain itself runs through
// Windows PowerShell (internal/winps: ARR and NLB). The named ones must be
// among them, so that none is lost unseen; TestPowerShellParses shows that
// the check fails a broken script.
func TestEveryPowerShellScriptParses(t *testing.T) {
	root, err := filepath.Abs("../..")
	must(t, err)
	check := requirePSCheck(t, root)
	dir := t.TempDir()
	var files, names []string
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".ps1", ".psm1", ".psd1":
			rel, err := filepath.Rel(root, p)
			must(t, err)
			files, names = append(files, p), append(names, filepath.ToSlash(rel))
		}
		return nil
	}))
	embedded := func(name, text string) {
		p := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".ps1")
		must(t, os.WriteFile(p, []byte(text), 0o644))
		files, names = append(files, p), append(names, name)
	}

	type step struct{ Name, Shell, Run string }
	var action struct {
		Runs struct {
			Steps []step `yaml:"steps"`
		} `yaml:"runs"`
	}
	must(t, yaml.Unmarshal(mustRead(t, filepath.Join(root, "action.yml")), &action))
	for i, s := range action.Runs.Steps {
		if s.Shell == "pwsh" || s.Shell == "powershell" {
			embedded(fmt.Sprintf("action.yml step %d", i), s.Run)
		}
	}
	workflows, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	must(t, err)
	for _, wf := range workflows {
		var doc struct {
			Defaults struct {
				Run struct{ Shell string } `yaml:"run"`
			} `yaml:"defaults"`
			Jobs map[string]struct {
				RunsOn   any `yaml:"runs-on"`
				Defaults struct {
					Run struct{ Shell string } `yaml:"run"`
				} `yaml:"defaults"`
				Steps []step `yaml:"steps"`
			} `yaml:"jobs"`
		}
		must(t, yaml.Unmarshal(mustRead(t, wf), &doc))
		for job, j := range doc.Jobs {
			for i, s := range j.Steps {
				shell := s.Shell
				if shell == "" {
					shell = j.Defaults.Run.Shell
				}
				if shell == "" {
					shell = doc.Defaults.Run.Shell
				}
				if shell == "" && strings.Contains(strings.ToLower(fmt.Sprint(j.RunsOn)), "windows") {
					shell = "pwsh" // GitHub's default on Windows runners
				}
				if s.Run != "" && (shell == "pwsh" || shell == "powershell") {
					embedded(fmt.Sprintf("%s %s step %d (%s)", filepath.Base(wf), job, i, s.Name), s.Run)
				}
			}
		}
	}
	roleTasks, err := filepath.Glob(filepath.Join(root, "packaging", "ansible", "ansible_collections", "*", "*", "roles", "*", "tasks", "*.yml"))
	must(t, err)
	for _, f := range roleTasks {
		var tasks []map[string]any
		must(t, yaml.Unmarshal(mustRead(t, f), &tasks))
		for i, task := range tasks {
			for _, mod := range []string{"ansible.windows.win_powershell", "win_powershell"} {
				if m, ok := task[mod].(map[string]any); ok {
					if script, ok := m["script"].(string); ok {
						embedded(fmt.Sprintf("%s task %d", filepath.Base(f), i), script)
					}
				}
			}
		}
	}
	embedded("winps.ARRScript", winps.ARRScript)
	embedded("winps.NLBScript", winps.NLBScript)
	// The Chocolatey scripts as the release process fills them in (only
	// checksums.txt is read: its zips need not exist).
	sums := filepath.Join(dir, "checksums.txt")
	must(t, os.WriteFile(sums, []byte(strings.Repeat("a", 64)+"  drain_1.2.3_windows_amd64.zip\n"+strings.Repeat("b", 64)+"  drain_1.2.3_windows_arm64.zip\n"), 0o644))
	choco := filepath.Join(dir, "chocolatey")
	gen := exec.Command("go", "run", "./scripts/chocolatey", "-version", "1.2.3", "-checksums", sums, "-out", choco)
	gen.Dir = root
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("scripts/chocolatey: %v\n%s", err, out)
	}
	for _, f := range []string{"chocolateyinstall.ps1", "chocolateyuninstall.ps1"} {
		files, names = append(files, filepath.Join(choco, "tools", f)), append(names, "generated chocolatey "+f)
	}

	for _, want := range []string{
		"scripts/install.ps1", "packaging/octopus/drain-windows.ps1",
		"scripts/windows/real-iis.ps1", "scripts/windows/real-lb.ps1",
		"action.yml step", "windows.yml test step", "windows.yml arr step", "windows.yml nlb step",
		"windows.yml task", "winps.ARRScript", "winps.NLBScript",
		"packaging/chocolatey/tools/chocolateyinstall.ps1", "generated chocolatey chocolateyinstall.ps1",
	} {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, want) }) {
			t.Errorf("%s is not among the PowerShell checked: %q", want, names)
		}
	}
	out, err := exec.Command("node", append([]string{filepath.Join(check, "parse.cjs")}, files...)...).CombinedOutput()
	if err != nil {
		// Name the embedded scripts by where they are, not by their file.
		text := string(out)
		for i, f := range files {
			text = strings.ReplaceAll(text, f, names[i])
		}
		t.Errorf("PowerShell syntax: %v\n%s", err, text)
	}
	t.Logf("%d PowerShell scripts parsed: %q", len(files), names)
}

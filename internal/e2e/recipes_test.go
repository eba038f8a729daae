//go:build !windows

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestRollingRecipes checks the recipes of docs/rolling.md as far as they
// can be checked here: every YAML snippet parses, and the GitHub Actions
// workflow passes actionlint (with shellcheck on its run: scripts when
// shellcheck is installed). The engines themselves do not run here.
func TestRollingRecipes(t *testing.T) {
	doc, err := os.ReadFile("../../docs/rolling.md")
	must(t, err)
	block := regexp.MustCompile("(?ms)^## ([^\n]+)$|^```(\\w*)\n(.*?)^```")
	section := ""
	found := map[string]bool{}
	for _, m := range block.FindAllStringSubmatch(string(doc), -1) {
		if m[1] != "" {
			section = m[1]
			continue
		}
		if m[2] != "yaml" {
			continue
		}
		var v any
		if err := yaml.Unmarshal([]byte(m[3]), &v); err != nil {
			t.Errorf("%s: the YAML does not parse: %v\n%s", section, err, m[3])
			continue
		}
		found[section] = true
		if section == "GitHub Actions" {
			// The recipe is shipped as a file to copy, with the actionlint
			// config its runner labels need beside it.
			shipped, err := os.ReadFile("../../examples/github-actions/roll.yml")
			must(t, err)
			if strings.ReplaceAll(string(shipped), "\r\n", "\n") != m[3] {
				t.Errorf("docs/rolling.md's GitHub Actions recipe is not examples/github-actions/roll.yml")
			}
			actionlint(t, m[3])
		}
	}
	for _, s := range []string{"Ansible", "Azure Pipelines", "GitHub Actions", "AWS CodeDeploy", "Kubernetes"} {
		if !found[s] {
			t.Errorf("docs/rolling.md: no YAML recipe under %q", s)
		}
	}
}

func actionlint(t *testing.T, workflow string) {
	t.Helper()
	bin, err := exec.LookPath("actionlint")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "actionlint")
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("DRAIN_E2E") == "require" {
				t.Fatal("actionlint not found and DRAIN_E2E=require: go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12")
			}
			t.Skip("actionlint not installed (scripts/test.sh installs it)")
		}
	}
	// As a user copies it: the workflow into .github/workflows, the
	// shipped actionlint.yaml (the self-hosted runners' labels, one per
	// server) into .github, where a plain `actionlint` finds it.
	dir := t.TempDir()
	wf := filepath.Join(dir, ".github", "workflows", "roll.yml")
	must(t, os.MkdirAll(filepath.Dir(wf), 0o755))
	must(t, os.WriteFile(wf, []byte(workflow), 0o644))
	conf, err := os.ReadFile("../../examples/github-actions/actionlint.yaml")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, ".github", "actionlint.yaml"), conf, 0o644))
	must(t, exec.Command("git", "init", "-q", dir).Run()) // actionlint finds .github from the repository's root
	cmd := exec.Command(bin)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
}

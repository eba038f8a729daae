//go:build !windows

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// releaseServer serves a fake release as GitHub does: BASE/vVERSION/FILE
// (BASE is URL/download) and URL/latest redirecting to URL/tag/vVERSION.
func releaseServer(t *testing.T, version, dir string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/download/v"+version+"/", http.StripPrefix("/download/v"+version+"/", http.FileServer(http.Dir(dir))))
	mux.HandleFunc("/latest", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/tag/v"+version, http.StatusFound)
	})
	mux.HandleFunc("/tag/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "release page") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// installSh runs scripts/install.sh with args; it returns the exit code,
// the output and what it wrote to $GITHUB_OUTPUT.
func installSh(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	script, err := filepath.Abs("../../scripts/install.sh")
	must(t, err)
	ghOut := filepath.Join(t.TempDir(), "github_output")
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+ghOut)
	out, _ := cmd.CombinedOutput()
	b, _ := os.ReadFile(ghOut)
	return cmd.ProcessState.ExitCode(), string(out), string(b)
}

// TestInstallScript: scripts/install.sh (the setup action's installer)
// against a release built from this tree and served on 127.0.0.1: a
// version installs and runs, latest follows the redirect, a wrong checksum
// or an archive missing from checksums.txt installs nothing (exit 1), and a
// version that is not one is refused before any download (exit 2).
func TestInstallScript(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	rel := fakeRelease(t, "1.2.3", hostTarget())
	srv := releaseServer(t, "1.2.3", rel)
	base := srv.URL + "/download"
	archive := fmt.Sprintf("drain_1.2.3_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH)

	installed := func(dir string) string {
		out, err := exec.Command(filepath.Join(dir, "drain"), "version").CombinedOutput()
		if err != nil {
			return "not installed: " + err.Error()
		}
		return strings.TrimSpace(string(out))
	}
	for _, v := range []string{"1.2.3", "v1.2.3", "latest"} {
		dir := t.TempDir()
		code, out, gh := installSh(t, "--version", v, "--base-url", base, "--dir", dir)
		if code != 0 {
			t.Fatalf("--version %s: exit %d\n%s", v, code, out)
		}
		if got := installed(dir); !strings.Contains(got, "1.2.3") {
			t.Errorf("--version %s: the installed drain says %q", v, got)
		}
		if !strings.Contains(gh, "version=1.2.3\n") || !strings.Contains(gh, "path="+filepath.Join(dir, "drain")+"\n") {
			t.Errorf("--version %s: GITHUB_OUTPUT is %q", v, gh)
		}
	}

	dir := t.TempDir()
	code, out, _ := installSh(t, "--version", "1.2.3; touch /tmp/x", "--base-url", base, "--dir", dir)
	if code != 2 || !strings.Contains(out, "not a release version") {
		t.Errorf("a bad version: exit %d, want 2\n%s", code, out)
	}
	code, out, _ = installSh(t, "--version", "9.9.9", "--base-url", base, "--dir", dir)
	if code != 1 || !strings.Contains(out, "could not download") {
		t.Errorf("a version not released: exit %d, want 1\n%s", code, out)
	}

	must(t, os.Rename(filepath.Join(rel, "checksums.txt"), filepath.Join(rel, "checksums.orig")))
	must(t, os.WriteFile(filepath.Join(rel, "checksums.txt"), []byte(strings.Repeat("0", 64)+"  drain_1.2.3_plan9_mips.tar.gz\n"), 0o644))
	code, out, _ = installSh(t, "--version", "1.2.3", "--base-url", base, "--dir", dir)
	if code != 1 || !strings.Contains(out, "does not list "+archive) {
		t.Errorf("an archive checksums.txt does not list: exit %d, want 1\n%s", code, out)
	}
	must(t, os.Rename(filepath.Join(rel, "checksums.orig"), filepath.Join(rel, "checksums.txt")))
	corruptChecksum(t, rel, archive)
	code, out, _ = installSh(t, "--version", "1.2.3", "--base-url", base, "--dir", dir)
	if code != 1 || !strings.Contains(out, "checksum mismatch for "+archive) {
		t.Errorf("a wrong checksum: exit %d, want 1\n%s", code, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("after the refused installs %s holds %v, want nothing", dir, entries)
	}
}

// TestSetupAction checks action.yml: actionlint accepts a workflow that
// uses it (uses: ./, so actionlint reads the action's inputs) and refuses
// one with an input the action does not have; every bash step passes
// shellcheck and takes inputs through env, never ${{ }} in the script.
func TestSetupAction(t *testing.T) {
	root, err := filepath.Abs("../..")
	must(t, err)
	action := mustRead(t, filepath.Join(root, "action.yml"))
	var meta struct {
		Runs struct {
			Using string `yaml:"using"`
			Steps []struct {
				Name  string `yaml:"name"`
				Shell string `yaml:"shell"`
				Run   string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	must(t, yaml.Unmarshal(action, &meta))
	if meta.Runs.Using != "composite" || len(meta.Runs.Steps) == 0 {
		t.Fatalf("action.yml: runs.using %q with %d steps", meta.Runs.Using, len(meta.Runs.Steps))
	}
	shellcheck, _ := exec.LookPath("shellcheck")
	for _, s := range meta.Runs.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q puts an expression into its script: pass it through env", s.Name)
		}
		if s.Shell != "bash" || shellcheck == "" {
			continue
		}
		f := filepath.Join(t.TempDir(), "step.sh")
		must(t, os.WriteFile(f, []byte("#!/usr/bin/env bash\n"+s.Run), 0o644))
		if out, err := exec.Command(shellcheck, f).CombinedOutput(); err != nil {
			t.Errorf("step %q: shellcheck: %v\n%s", s.Name, err, out)
		}
	}

	lint := func(with string) (string, error) {
		dir := t.TempDir()
		// actionlint finds the project (and ./) by its .git directory.
		must(t, os.Mkdir(filepath.Join(dir, ".git"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "action.yml"), action, 0o644))
		wf := filepath.Join(dir, ".github", "workflows", "ci.yml")
		must(t, os.MkdirAll(filepath.Dir(wf), 0o755))
		must(t, os.WriteFile(wf, []byte(`name: ci
on: [push]
jobs:
  drain:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: drain
        uses: ./
        with:
`+with+`
      - run: echo "$DRAIN_PATH"
        env:
          DRAIN_PATH: ${{ steps.drain.outputs.path }}
`), 0o644))
		cmd := exec.Command(actionlintBin(t), filepath.Join(".github", "workflows", "ci.yml"))
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := lint("          version: 1.2.3\n          run: |\n            version"); err != nil {
		t.Errorf("actionlint on a workflow using the action: %v\n%s", err, out)
	}
	if out, err := lint("          no-such-input: 1.2.3"); err == nil || !strings.Contains(out, "no-such-input") {
		t.Errorf("actionlint did not refuse an input the action does not have (%v): it did not read action.yml\n%s", err, out)
	}
}

func actionlintBin(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("actionlint"); err == nil {
		return bin
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	bin := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "actionlint")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("actionlint not found and DRAIN_E2E=require: go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12")
		}
		t.Skip("actionlint not installed (scripts/test.sh installs it)")
	}
	return bin
}

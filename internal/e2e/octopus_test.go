//go:build !windows

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// octopusHarness stands in for what Octopus Deploy gives a Bash step
// (get_octopusvariable, set_octopusvariable, fail_step), then sources the
// step template's script. Variables come from OCTO_<name with _ for .>;
// output variables go to $OCTO_OUT as NAME=VALUE lines.
const octopusHarness = `get_octopusvariable() { local k="OCTO_${1//./_}"; printf '%s' "${!k-}"; }
set_octopusvariable() { printf '%s=%s\n' "$1" "$2" >>"$OCTO_OUT"; }
fail_step() { echo "fail_step: $1" >&2; exit 1; }
. "$OCTO_SCRIPT"
`

type octopusRun struct {
	code   int
	out    string
	output map[string]string
}

func runOctopusStep(t *testing.T, script, home, path string, vars map[string]string) octopusRun {
	t.Helper()
	dir := t.TempDir()
	outFile := filepath.Join(dir, "out")
	cmd := exec.Command("/bin/bash", "-c", octopusHarness)
	cmd.Env = []string{"HOME=" + home, "PATH=" + path, "OCTO_OUT=" + outFile, "OCTO_SCRIPT=" + script}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, "OCTO_"+strings.ReplaceAll(k, ".", "_")+"="+v)
	}
	b, _ := cmd.CombinedOutput()
	r := octopusRun{code: cmd.ProcessState.ExitCode(), out: string(b), output: map[string]string{}}
	data, _ := os.ReadFile(outFile)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r.output[k] = v
		}
	}
	return r
}

// TestOctopusStepTemplate: packaging/octopus/drain-linux.json is a step
// template in the Library's format whose Bash script is drain-linux.sh, and
// that script, run as Octopus runs it against a real nginx: installs drain
// from a release (served locally) when it is not on PATH, refusing a wrong
// checksum; drains (out, wait on stub_status, the action) and sets the
// output variables; puts the server back with in; and on a timeout fails
// the step with drain's exit code 3 and the server back IN.
func TestOctopusStepTemplate(t *testing.T) {
	root, err := filepath.Abs("../..")
	must(t, err)
	script := filepath.Join(root, "packaging", "octopus", "drain-linux.sh")
	var tmpl struct {
		ActionType string            `json:"ActionType"`
		Properties map[string]string `json:"Properties"`
		Parameters []struct {
			Name            string            `json:"Name"`
			Label           string            `json:"Label"`
			DisplaySettings map[string]string `json:"DisplaySettings"`
		} `json:"Parameters"`
	}
	unmarshal(t, mustRead(t, filepath.Join(root, "packaging", "octopus", "drain-linux.json")), &tmpl)
	body := string(mustRead(t, script))
	if tmpl.ActionType != "Octopus.Script" || tmpl.Properties["Octopus.Action.Script.Syntax"] != "Bash" ||
		tmpl.Properties["Octopus.Action.Script.ScriptSource"] != "Inline" {
		t.Errorf("template: ActionType %q, properties %v", tmpl.ActionType, tmpl.Properties)
	}
	if tmpl.Properties["Octopus.Action.Script.ScriptBody"] != body {
		t.Errorf("the template's ScriptBody is not packaging/octopus/drain-linux.sh: put the script's text into it")
	}
	for _, p := range tmpl.Parameters {
		if !strings.Contains(body, p.Name) || p.Label == "" || p.DisplaySettings["Octopus.ControlType"] == "" {
			t.Errorf("parameter %s: the script does not read it, or it has no label or control type", p.Name)
		}
	}

	// The Windows template: PowerShell, its script is drain-windows.ps1
	// (parse-checked by TestPowerShellParses), the same parameters.
	var win struct {
		ActionType string            `json:"ActionType"`
		Properties map[string]string `json:"Properties"`
		Parameters []struct {
			Name string `json:"Name"`
		} `json:"Parameters"`
	}
	unmarshal(t, mustRead(t, filepath.Join(root, "packaging", "octopus", "drain-windows.json")), &win)
	winBody := string(mustRead(t, filepath.Join(root, "packaging", "octopus", "drain-windows.ps1")))
	if win.ActionType != "Octopus.Script" || win.Properties["Octopus.Action.Script.Syntax"] != "PowerShell" ||
		win.Properties["Octopus.Action.Script.ScriptBody"] != winBody {
		t.Errorf("drain-windows.json: ActionType %q, syntax %q, or its ScriptBody is not drain-windows.ps1",
			win.ActionType, win.Properties["Octopus.Action.Script.Syntax"])
	}
	if len(win.Parameters) != len(tmpl.Parameters) {
		t.Errorf("the Windows template has %d parameters, the Linux one %d", len(win.Parameters), len(tmpl.Parameters))
	}
	for i, p := range win.Parameters {
		if i < len(tmpl.Parameters) && p.Name != tmpl.Parameters[i].Name || !strings.Contains(winBody, "'"+p.Name+"'") {
			t.Errorf("Windows parameter %s: not the Linux template's, or drain-windows.ps1 does not read it", p.Name)
		}
	}

	n := startNginx(t)
	rel := fakeRelease(t, "1.2.3", "linux/"+runtime.GOARCH)
	srv := releaseServer(t, "1.2.3", rel)
	path := "/usr/bin:/bin" // no drain on it
	if _, err := exec.Command("/bin/bash", "-c", "PATH="+path+" command -v drain").Output(); err == nil {
		t.Skip("a drain is installed in /usr/bin or /bin: the install cannot be tested")
	}
	home := t.TempDir()
	acted := filepath.Join(t.TempDir(), "stopped")
	vars := map[string]string{
		"Drain.Command": "run", "Drain.Rotate": "keepalive:" + n.Keepalive(), "Drain.VerifyUrl": n.URL("/keepalive.htm"),
		"Drain.Sources": "nginx:" + n.URL("/nginx_status"),
		"Drain.Action":  "touch\n" + acted, "Drain.Settle": "300ms", "Drain.LbGrace": "0s", "Drain.Timeout": "30s",
		"Drain.Reason": "Octopus release 2", "Drain.Version": "1.2.3", "Drain.BaseUrl": srv.URL + "/download",
	}

	// A wrong checksum: nothing installed, the step fails before drain runs.
	corruptChecksum(t, rel, fmt.Sprintf("drain_1.2.3_linux_%s.tar.gz", runtime.GOARCH))
	r := runOctopusStep(t, script, home, path, vars)
	if r.code == 0 || !strings.Contains(r.out, "fail_step: checksum mismatch") {
		t.Errorf("a wrong checksum: exit %d\n%s", r.code, r.out)
	}
	if _, err := os.Stat(filepath.Join(home, ".drain", "1.2.3", "drain")); err == nil {
		t.Errorf("drain was installed although its checksum did not match")
	}
	if _, err := os.Stat(n.Keepalive()); err != nil {
		t.Fatalf("the keep-alive page is gone after a failed install: %v", err)
	}
	rel2 := fakeRelease(t, "1.2.3", "linux/"+runtime.GOARCH)
	must(t, os.Rename(filepath.Join(rel2, "checksums.txt"), filepath.Join(rel, "checksums.txt")))
	must(t, os.Rename(filepath.Join(rel2, fmt.Sprintf("drain_1.2.3_linux_%s.tar.gz", runtime.GOARCH)), filepath.Join(rel, fmt.Sprintf("drain_1.2.3_linux_%s.tar.gz", runtime.GOARCH))))

	r = runOctopusStep(t, script, home, path, vars)
	if r.code != 0 || r.output["DrainResult"] != "drained" || r.output["DrainRotation"] != "OUT" || r.output["DrainExitCode"] != "0" {
		t.Fatalf("run: exit %d, outputs %v\n%s", r.code, r.output, r.out)
	}
	if !strings.Contains(r.out, "installed drain 1.2.3") {
		t.Errorf("run: drain was not installed by the step:\n%s", r.out)
	}
	srv.Close() // from now on the installed drain must be used, not downloaded again
	if _, err := os.Stat(acted); err != nil {
		t.Errorf("the action did not run: %v", err)
	}
	if _, err := os.Stat(n.Keepalive() + ".disabled"); err != nil {
		t.Errorf("the keep-alive page was not renamed: %v", err)
	}

	vars["Drain.Command"] = "in"
	r = runOctopusStep(t, script, home, path, vars)
	if r.code != 0 || r.output["DrainResult"] != "ok" || r.output["DrainRotation"] != "IN" {
		t.Fatalf("in: exit %d, outputs %v\n%s", r.code, r.output, r.out)
	}
	if _, err := os.Stat(n.Keepalive()); err != nil {
		t.Errorf("in: the keep-alive page is not back: %v", err)
	}

	// A request held open: the drain times out, the server goes back in,
	// the step fails with drain's exit code.
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(n.URL(""), "http://"), 5*time.Second)
	must(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "GET /keepalive.htm HTTP/1.1\r\nHost: x\r\n")
	must(t, err)
	must(t, os.Remove(acted))
	vars["Drain.Command"], vars["Drain.Timeout"] = "run", "2s"
	r = runOctopusStep(t, script, home, path, vars)
	if r.code == 0 || r.output["DrainExitCode"] != "3" || r.output["DrainRotation"] != "IN" || r.output["DrainResult"] != "timeout" ||
		!strings.Contains(r.out, "fail_step: drain run failed: timeout (exit 3); server is IN rotation") {
		t.Errorf("timeout: exit %d, outputs %v\n%s", r.code, r.output, r.out)
	}
	if _, err := os.Stat(acted); err == nil {
		t.Errorf("the action ran although the drain timed out")
	}
	if _, err := os.Stat(n.Keepalive()); err != nil {
		t.Errorf("after the timeout the keep-alive page is not back: %v", err)
	}
	// A bad command is refused before anything runs.
	vars["Drain.Command"] = "stop; rm -rf /"
	if r := runOctopusStep(t, script, home, path, vars); r.code == 0 || !strings.Contains(r.out, "Drain.Command must be run, out or in") {
		t.Errorf("a bad Drain.Command: exit %d\n%s", r.code, r.out)
	}
}

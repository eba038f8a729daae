// Package winps runs the small, fixed Windows PowerShell scripts through
// which drain reaches IIS Application Request Routing (the
// Microsoft.Web.Administration object model) and Windows NLB (the
// NetworkLoadBalancingClusters module), and reads their JSON answers.
//
// A script is passed with -EncodedCommand (UTF-16LE, base64), so no quoting
// of it can go wrong; its parameters travel in DRAIN_PS_* environment
// variables of the child only, never on the command line. Windows
// PowerShell 5.1 (on every supported Windows Server) is run by its full
// path, %SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe, never
// found through PATH (drain runs elevated: a powershell.exe planted in a
// PATH directory a user can write must not run as an administrator);
// DRAIN_POWERSHELL names another one.
package winps

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/drain-cli/drain/internal/trace"
)

// Exe is the PowerShell program run: DRAIN_POWERSHELL, else Windows
// PowerShell by its full path under %SystemRoot% (C:\Windows when unset).
// Elsewhere than Windows (tests only: the types refuse to run there) it is
// powershell.exe as PATH finds it.
func Exe() string {
	if p := os.Getenv("DRAIN_POWERSHELL"); p != "" {
		return p
	}
	if runtime.GOOS != "windows" {
		return "powershell.exe"
	}
	root := os.Getenv("SystemRoot")
	if root == "" || !filepath.IsAbs(root) {
		root = `C:\Windows`
	}
	return filepath.Join(root, "System32", "WindowsPowerShell", "v1.0", "powershell.exe")
}

// Encode is the -EncodedCommand form of a script: base64 of its UTF-16LE
// bytes, as powershell.exe -? documents.
func Encode(script string) string {
	u := utf16.Encode([]rune(script))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Decode reverses Encode (for the test stand-in).
func Decode(enc string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", err
	}
	if len(b)%2 != 0 {
		return "", errors.New("odd UTF-16 length")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u)), nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ErrScript is a script that ran and failed: the message is what it wrote
// on standard error (the exception's message), one line.
var ErrScript = errors.New("powershell")

// Run runs script with params as DRAIN_PS_<NAME> environment variables and
// returns its standard output. A non-zero exit is an ErrScript error with
// the script's own message; a PowerShell that cannot be started is an
// os/exec error naming the program.
func Run(ctx context.Context, script string, params map[string]string) ([]byte, error) {
	exe := Exe()
	cmd := exec.CommandContext(ctx, exe, "-NoLogo", "-NoProfile", "-NonInteractive",
		"-ExecutionPolicy", "Bypass", "-EncodedCommand", Encode(script))
	env := os.Environ()
	for k, v := range params {
		env = append(env, "DRAIN_PS_"+k+"="+v)
	}
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := trace.Start(ctx, "powershell", exe+" -EncodedCommand "+scriptName(script)+paramList(params))
	err := cmd.Run()
	done(trace.Exit(err))
	if err == nil {
		// A console output encoding with a preamble ([Text.Encoding]::UTF8
		// in Windows PowerShell) writes a UTF-8 BOM before the first
		// byte, which encoding/json refuses.
		return bytes.TrimPrefix(out.Bytes(), utf8BOM), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", exe, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg := firstLine(errOut.String())
		if msg == "" {
			msg = firstLine(out.String())
		}
		if msg == "" {
			msg = "no message"
		}
		return nil, fmt.Errorf("%w: %s (exit %d)", ErrScript, msg, ee.ExitCode())
	}
	return nil, fmt.Errorf("run %s (Windows PowerShell): %w", exe, err)
}

// firstLine is the first non-blank line of s, trimmed, at most 300
// bytes; the CLIXML a PowerShell host may write on standard error (its
// progress records) is skipped.
func firstLine(s string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#< CLIXML") && !strings.HasPrefix(l, "<Objs ") {
			if len(l) > 300 {
				l = l[:300] + "…"
			}
			return l
		}
	}
	return ""
}

// scriptName names a script in --verbose's log by its first line that is
// not blank or a comment ("(script: function Get-X {...)").
func scriptName(script string) string {
	for l := range strings.SplitSeq(script, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			if r := []rune(l); len(r) > 60 {
				l = string(r[:59]) + "…"
			}
			return "(script: " + l + ")"
		}
	}
	return "(empty script)"
}

// paramList shows a script's parameters, sorted: the names and values of
// the servers, farms and clusters it acts on (never a credential: drain
// passes none to a script).
func paramList(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " DRAIN_PS_%s=%q", k, params[k])
	}
	return b.String()
}

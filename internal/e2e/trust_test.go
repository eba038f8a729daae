//go:build !windows

package e2e

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyURLHTTPSUsesTLSSettings: --verify-url over https trusts
// --ca-file and honours --insecure, as every other client of drain does; a
// server whose certificate nothing vouches for is refused before anything
// changes, one line naming the certificate.
func TestVerifyURLHTTPSUsesTLSSettings(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	must(t, os.WriteFile(page, []byte("ok\n"), 0o644))
	// The balancer's probe of the page, over https: 200 while the page is
	// there, 404 once it is renamed away.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if _, err := os.Stat(page); err != nil {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(dir, "ca.pem")
	must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	bin := buildDrain(t)
	state := filepath.Join(dir, "state")
	run := func(verb string, args ...string) (string, string, int) {
		t.Helper()
		return runBin(t, bin, append([]string{verb, "--state-dir", state, "--keepalive", page, "--verify-url", srv.URL + "/keepalive.htm", "--interval", "50ms", "--timeout", "10s"}, args...)...)
	}
	for _, tls := range [][]string{{"--ca-file", ca}, {"--insecure"}} {
		if out, e, code := run("out", tls...); code != 0 || !strings.Contains(e+out, "verify-url answers 404") {
			t.Fatalf("out %v: exit %d\n%s%s", tls, code, out, e)
		}
		if _, err := os.Stat(page); err == nil {
			t.Fatalf("out %v: the page is still there", tls)
		}
		if out, e, code := run("in", append([]string{"--wait-healthy"}, tls...)...); code != 0 {
			t.Fatalf("in %v: exit %d\n%s%s", tls, code, out, e)
		}
	}
	out, e, code := run("out")
	if code != 2 || !strings.Contains(e, "certificate") || !strings.Contains(e, "nothing") {
		t.Errorf("out without --ca-file: exit %d\n%s%s", code, out, e)
	}
	if _, err := os.Stat(page); err != nil {
		t.Errorf("out without --ca-file changed the page: %v", err)
	}
}

// runBin runs the drain binary bin and returns its stdout, stderr and exit
// code.
func runBin(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

//go:build !windows

package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/testbed"
)

// confFarm is a real HAProxy whose backends are written by the test
// (%s: the address of a real HTTP server answering 200), with the drain
// binary and a state directory, ready once every server of backend web is
// UP.
func confFarm(t *testing.T, backends string) *farm {
	t.Helper()
	requireServers(t, "haproxy")
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	lb, err := testbed.StartHAProxyConf(t.TempDir(), strings.ReplaceAll(backends, "%s", strings.TrimPrefix(srv.URL, "http://")))
	must(t, err)
	t.Cleanup(lb.Kill)
	f := &farm{lb: lb, drain: buildDrain(t), state: filepath.Join(t.TempDir(), "state")}
	waitFor(t, func() bool {
		out, err := lb.Cmd("show stat")
		must(t, err)
		for _, l := range strings.Split(out, "\n") {
			if fl := strings.Split(l, ","); len(fl) > 17 && fl[0] == "web" && fl[1] != "BACKEND" && fl[17] != "UP" {
				return false
			}
		}
		return true
	})
	return f
}

// rotationRow is a server of status --pool: in rotation or not, and why.
type rotationRow struct {
	Name string `json:"name"`
	In   bool   `json:"in_rotation"`
	Why  string `json:"why"`
}

// poolRows reads status --pool as JSON: how many are in rotation, and each
// server's row by name.
func (f *farm) poolRows(t *testing.T) (int, map[string]rotationRow) {
	t.Helper()
	out, e, code := f.run(t, "status", "--pool", "haproxy:"+f.lb.Sock+"#web", "--output", "json")
	var rep struct {
		InRotation int           `json:"in_rotation"`
		Members    []rotationRow `json:"members"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("status --pool: exit %d %s %s", code, out, e)
	}
	rows := map[string]rotationRow{}
	for _, m := range rep.Members {
		rows[m.Name] = m
	}
	return rep.InRotation, rows
}

// TestBudgetHAProxyWeightZero: a server HAProxy gives weight 0 (set server
// weight 0: a soft drain) is UP and gets no new traffic. The budget does not
// count it: out --min-in-rotation 1 of the only other server is refused
// (exit 5, nothing changed), and status --pool says it is not in rotation,
// and why.
func TestBudgetHAProxyWeightZero(t *testing.T) {
	f := confFarm(t, `backend web
  option httpchk GET /
  default-server inter 100ms fall 1 rise 1
  server a %s check
  server b %s check
`)
	if _, err := f.lb.Cmd("set server web/b weight 0"); err != nil {
		t.Fatal(err)
	}
	_, e, code := f.run(t, "out", "--rotate", "haproxy:"+f.lb.Sock+"#web/a", "--min-in-rotation", "1")
	if code != 5 || !strings.Contains(e, "would leave 0 in rotation") {
		t.Errorf("out a with b at weight 0: exit %d, want 5 (refused)\n%s", code, e)
	}
	if st, _ := f.lb.ServerStatus(&testbed.Nginx{Name: "a"}); st != "UP" {
		t.Errorf("a is %s after a refused out, want UP (nothing changed)", st)
	}
	n, rows := f.poolRows(t)
	if n != 1 || !rows["a"].In || rows["b"].In || !strings.Contains(rows["b"].Why, "weight 0") {
		t.Errorf("status --pool: %d in rotation, %+v", n, rows)
	}
	out, _, _ := f.run(t, "status", "--pool", "haproxy:"+f.lb.Sock+"#web")
	if !strings.Contains(out, "1 of 2 in rotation") || !strings.Contains(out, "weight 0") {
		t.Errorf("status --pool table does not say b is out for its weight:\n%s", out)
	}
}

// TestBudgetHAProxyTrack: s3 tracks s2, so taking s2 out takes s3 out
// too: with a budget of 2 in a pool of 3, out s2 is refused (exit 5,
// nothing changed); out s1 leaves s2 and s3, and passes.
func TestBudgetHAProxyTrack(t *testing.T) {
	f := confFarm(t, `backend web
  option httpchk GET /
  default-server inter 100ms fall 1 rise 1
  server s1 %s check
  server s2 %s check
  server s3 %s track web/s2
`)
	pool := "haproxy:" + f.lb.Sock + "#web/"
	_, e, code := f.run(t, "out", "--rotate", pool+"s2", "--min-in-rotation", "2")
	if code != 5 || !strings.Contains(e, "would leave 1 in rotation") || !strings.Contains(e, "s3") {
		t.Errorf("out s2 with s3 tracking it: exit %d, want 5 (refused), naming s3\n%s", code, e)
	}
	if n, rows := f.poolRows(t); n != 3 || !rows["s2"].In || !rows["s3"].In {
		t.Errorf("after the refused out: %d in rotation %+v, want all 3 (nothing changed)", n, rows)
	}
	if _, e, code := f.run(t, "out", "--rotate", pool+"s1", "--min-in-rotation", "2"); code != 0 {
		t.Errorf("out s1 (s2 and s3 stay): exit %d\n%s", code, e)
	}
}

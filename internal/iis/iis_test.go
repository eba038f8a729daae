package iis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/testutil"
)

// The fixture is a real capture (testdata/README.md): IIS writes Url, Verb,
// ClientIp, Time, ... and lists requests in its own order.
func TestParseRequestsFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/appcmd_list_requests.xml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := parseRequests(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 17 {
		t.Fatalf("got %d requests, want 17", len(rs))
	}
	want := appcmdRequest{
		ID: "fd0000038000000a", SiteID: "4", URL: "/mccannwg/api/attendance/reprocessForCompilation?id=a6409ab0-a54e-4f85-8496-aa4d00ffe23a",
		Verb: "GET", Client: "::1", ElapsedMS: 4974406, Stage: "ExecuteRequestHandler", Module: "ManagedPipelineHandler",
		WorkerPID: "12224", Pool: "Jobs App1.factohr.com",
	}
	if rs[0] != want {
		t.Errorf("longest = %+v\nwant %+v", rs[0], want)
	}
	var order []int64
	for _, r := range rs {
		order = append(order, r.ElapsedMS)
	}
	if got := jsonString(order); got != "[4974406,947016,887109,584187,278078,278062,214219,173187,157937,73484,53234,48187,38187,37359,21125,14031,13328]" {
		t.Errorf("order = %s", got)
	}
	if r := rs[3]; r.Elapsed() != 584187*time.Millisecond || r.Client != "45.249.108.254" || r.URL != "/template/api/MISData/getFactohrMISData" || r.Pool != "beta1.factohr.com" {
		t.Errorf("fourth = %+v", r)
	}
}

// Older documentation and some tools spell the attributes in capitals
// (URL, CLIENTIP, TIME.ELAPSED, MODULENAME): read those too.
func TestParseRequestsOtherSpellings(t *testing.T) {
	in := `<appcmd><REQUEST REQUEST.NAME="a" URL="/x" VERB="POST" CLIENTIP="10.0.0.5" TIME.ELAPSED="42187" STAGE="BeginRequest" MODULENAME="IIS Web Core" /></appcmd>`
	rs, err := parseRequests([]byte(in))
	want := appcmdRequest{ID: "a", URL: "/x", Verb: "POST", Client: "10.0.0.5", ElapsedMS: 42187, Stage: "BeginRequest", Module: "IIS Web Core"}
	if err != nil || len(rs) != 1 || rs[0] != want {
		t.Errorf("rs=%+v err=%v\nwant %+v", rs, err, want)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestParseEmptyAndGarbage(t *testing.T) {
	b, _ := os.ReadFile("testdata/appcmd_list_requests_none.xml")
	rs, err := parseRequests(b)
	if err != nil || len(rs) != 0 {
		t.Fatalf("rs=%v err=%v, want none", rs, err)
	}
	for _, in := range []string{"", "ERROR ( message:The Request Monitor module is not installed. )", "<appcmd><REQUEST TIME.ELAPSED=\"x\"/></appcmd>", "<appcmd><REQUEST Time=\"x\"/></appcmd>"} {
		if _, err := parseRequests([]byte(in)); err == nil {
			t.Errorf("parseRequests(%q): no error", in)
		}
	}
}

func TestParseListFixtures(t *testing.T) {
	read := func(name string) *objects {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		o, err := parseObjects(b)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	p := read("appcmd_list_apppool.xml").Pools
	if len(p) != 3 || p[1] != (pool{".NET v4.5 Classic", "Started"}) || p[2] != (pool{"Shop Pool", "Stopped"}) {
		t.Errorf("pools = %+v", p)
	}
	s := read("appcmd_list_site.xml").Sites
	if len(s) != 2 || s[0] != (site{"Default Web Site", "1", "Started"}) || s[1].State != "Stopped" {
		t.Errorf("sites = %+v", s)
	}
	w := read("appcmd_list_wp.xml").Workers
	if len(w) != 2 || w[1] != (worker{"7788", "DefaultAppPool"}) {
		t.Errorf("workers = %+v", w)
	}
}

func FuzzParseRequests(f *testing.F) {
	for _, n := range []string{"appcmd_list_requests.xml", "appcmd_list_requests_none.xml", "appcmd_list_apppool.xml"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := parseRequests(b)
		if err != nil {
			return
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].ElapsedMS > rs[i-1].ElapsedMS {
				t.Fatalf("not longest first: %d then %d", rs[i-1].ElapsedMS, rs[i].ElapsedMS)
			}
		}
	})
}

func TestParseBuiltin(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		builtin bool
		arg     string
		errSub  string
	}{
		{[]string{"recycle-apppool", "My Pool"}, true, "My Pool", ""},
		{[]string{"stop-service", "W3SVC"}, true, "W3SVC", ""},
		{[]string{"iisreset-stop"}, true, "", ""},
		{[]string{"iisreset-stop", "now"}, true, "", "takes no arguments"},
		{[]string{"stop-apppool"}, true, "", "usage: stop-apppool POOL"},
		{[]string{"stop-site", "a", "b"}, true, "", "usage: stop-site SITE"},
		{[]string{"stop-site", " "}, true, "", "empty SITE name"},
		{[]string{"appcmd", "stop", "apppool"}, false, "", ""},
		{[]string{"Stop-AppPool", "x"}, false, "", ""}, // built-in names are exact
	} {
		_, arg, ok, err := action.ParseBuiltin(tc.argv)
		if ok != tc.builtin || arg != tc.arg {
			t.Errorf("%q: ok=%v arg=%q", tc.argv, ok, arg)
		}
		if tc.errSub == "" && err != nil || tc.errSub != "" && (err == nil || !strings.Contains(err.Error(), tc.errSub) || !errors.Is(err, action.ErrUsage)) {
			t.Errorf("%q: err=%v, want %q", tc.argv, err, tc.errSub)
		}
	}
}

func TestAppcmdError(t *testing.T) {
	out := "ERROR ( hresult:80070426, message:Command execution failed.\r\nThe service has not been started.\r\n )\r\n"
	got := appcmdError([]byte(out), 1062).Error()
	if got != "appcmd: Command execution failed. The service has not been started. (exit code 1062)" {
		t.Errorf("got %q", got)
	}
	if got := appcmdError(nil, 5).Error(); got != "appcmd exit code 5" {
		t.Errorf("got %q", got)
	}
}

func TestDropsSessions(t *testing.T) {
	for _, tc := range []struct {
		a    action.Action
		want bool
	}{
		{&Change{Op: RecycleAppPool}, true},
		{&Change{Op: StopSite}, true},
		{&Change{Op: StartAppPool}, false},
		{&action.Exec{Argv: []string{`C:\Windows\System32\inetsrv\appcmd.exe`, "recycle", "apppool", "/apppool.name:X"}}, true},
		{&action.Exec{Argv: []string{"iisreset", "/stop"}}, true},
		{&action.Exec{Argv: []string{"appcmd", "list", "apppool"}}, false},
		{&action.Exec{Argv: []string{"systemctl", "stop", "nginx"}}, false},
	} {
		if got := DropsSessions(tc.a); got != tc.want {
			t.Errorf("DropsSessions(%s) = %v", tc.a, got)
		}
	}
}

// fake sets up the stand-in appcmd with the given state and returns a
// function that reads back the state and the argv lines it was called with.
func fake(t *testing.T, st fakeState) func() (fakeState, []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := testutil.TempDir(t)
	statePath, logPath := filepath.Join(dir, "state.json"), filepath.Join(dir, "argv.log")
	b, _ := json.Marshal(st)
	if err := os.WriteFile(statePath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A -race binary sleeps 1s at exit by default: not in every appcmd call.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	t.Setenv("DRAIN_APPCMD", exe)
	t.Setenv("DRAIN_FAKE_APPCMD_STATE", statePath)
	t.Setenv("DRAIN_FAKE_APPCMD_LOG", logPath)
	return func() (fakeState, []string) {
		var now fakeState
		b, err := os.ReadFile(statePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &now); err != nil {
			t.Fatal(err)
		}
		logb, _ := os.ReadFile(logPath)
		var calls []string
		for _, l := range strings.Split(strings.TrimSpace(string(logb)), "\n") {
			var argv []string
			if json.Unmarshal([]byte(l), &argv) == nil {
				calls = append(calls, strings.Join(argv, " "))
			}
		}
		return now, calls
	}
}

func pools() map[string]*fakeObj {
	return map[string]*fakeObj{
		"DefaultAppPool": {State: "Started", WPs: []string{"5124", "7788"}, Delay: 3},
		"Shop Pool":      {State: "Stopped"},
		"Idle":           {State: "Started"},
	}
}

func runIIS(t *testing.T, op, name string, timeout time.Duration) (string, error) {
	t.Helper()
	a := &Change{Op: op, Name: name, Timeout: timeout, Poll: 10 * time.Millisecond, appcmd: runAppcmd}
	var out bytes.Buffer
	_, err := a.Run(context.Background(), &out, &out)
	return out.String(), err
}

func changes(calls []string) []string {
	var out []string
	for _, c := range calls {
		if !strings.HasPrefix(c, "list ") {
			out = append(out, c)
		}
	}
	return out
}

func TestStopAppPoolWaitsAndIsIdempotent(t *testing.T) {
	state := fake(t, fakeState{Pools: pools()})
	out, err := runIIS(t, StopAppPool, "defaultapppool", time.Minute)
	if err != nil {
		t.Fatalf("err = %v\n%s", err, out)
	}
	st, calls := state()
	if p := st.Pools["DefaultAppPool"]; p.State != "Stopped" || len(p.WPs) != 0 {
		t.Errorf("pool = %+v, want stopped with no workers", p)
	}
	if c := changes(calls); len(c) != 1 || c[0] != "stop apppool /apppool.name:DefaultAppPool" {
		t.Errorf("changes = %q", c)
	}
	if !strings.Contains(out, `app pool "DefaultAppPool" stopped; worker processes 5124, 7788 have exited`) {
		t.Errorf("out = %q", out)
	}

	out, err = runIIS(t, StopAppPool, "DefaultAppPool", time.Minute)
	_, calls2 := state()
	if err != nil || !strings.Contains(out, "already stopped: nothing to do") || len(changes(calls2)) != 1 {
		t.Errorf("second stop: err=%v out=%q changes=%q", err, out, changes(calls2))
	}
}

func TestStartAppPool(t *testing.T) {
	state := fake(t, fakeState{Pools: pools()})
	if out, err := runIIS(t, StartAppPool, "Shop Pool", time.Minute); err != nil || !strings.Contains(out, `app pool "Shop Pool" started`) {
		t.Fatalf("err=%v out=%q", err, out)
	}
	out, err := runIIS(t, StartAppPool, "Shop Pool", time.Minute)
	st, calls := state()
	if err != nil || !strings.Contains(out, "already started") || st.Pools["Shop Pool"].State != "Started" {
		t.Errorf("err=%v out=%q state=%+v", err, out, st.Pools["Shop Pool"])
	}
	if c := changes(calls); len(c) != 1 || c[0] != "start apppool /apppool.name:Shop Pool" {
		t.Errorf("changes = %q", c)
	}
}

func TestRecycleWaitsForTheOldWorkers(t *testing.T) {
	state := fake(t, fakeState{Pools: pools()})
	out, err := runIIS(t, RecycleAppPool, "DefaultAppPool", time.Minute)
	if err != nil {
		t.Fatalf("err=%v out=%q", err, out)
	}
	st, calls := state()
	if p := st.Pools["DefaultAppPool"]; strings.Join(p.WPs, ",") != "9999" {
		t.Errorf("workers = %v, want only the new one", p.WPs)
	}
	if !strings.Contains(out, "recycled; worker processes 5124, 7788 have exited") {
		t.Errorf("out = %q", out)
	}
	// The last look must be the one that saw the old workers gone.
	if last := calls[len(calls)-1]; last != "list wp /apppool.name:DefaultAppPool /xml" {
		t.Errorf("last call = %q", last)
	}

	out, err = runIIS(t, RecycleAppPool, "Idle", time.Minute)
	if err != nil || !strings.Contains(out, "no worker process was running") {
		t.Errorf("idle pool: err=%v out=%q", err, out)
	}
}

func TestRecycleOfAStoppedPoolFailsClearly(t *testing.T) {
	state := fake(t, fakeState{Pools: pools()})
	_, err := runIIS(t, RecycleAppPool, "Shop Pool", time.Minute)
	if !errors.Is(err, action.ErrFailed) || !strings.Contains(err.Error(), `app pool "Shop Pool" is stopped`) || !strings.Contains(err.Error(), "start-apppool") {
		t.Errorf("err = %v", err)
	}
	if _, calls := state(); len(changes(calls)) != 0 {
		t.Errorf("changes = %q, want none", changes(calls))
	}
}

func TestUnknownPoolNamesTheExistingOnes(t *testing.T) {
	fake(t, fakeState{Pools: pools()})
	a := &Change{Op: StopAppPool, Name: "Shopp", appcmd: runAppcmd}
	err := a.Check(context.Background())
	want := `no app pool named "Shopp" (existing: "DefaultAppPool", "Idle", "Shop Pool")`
	if !errors.Is(err, action.ErrUsage) || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestStopSite(t *testing.T) {
	state := fake(t, fakeState{Sites: map[string]*fakeObj{"Default Web Site": {State: "Started"}, "Shop": {State: "Stopped"}}})
	if out, err := runIIS(t, StopSite, "Default Web Site", time.Minute); err != nil || !strings.Contains(out, `site "Default Web Site" stopped`) {
		t.Fatalf("err=%v out=%q", err, out)
	}
	if out, err := runIIS(t, StopSite, "shop", time.Minute); err != nil || !strings.Contains(out, `site "Shop" is already stopped`) {
		t.Errorf("err=%v out=%q", err, out)
	}
	if _, calls := state(); strings.Join(changes(calls), "|") != "stop site /site.name:Default Web Site" {
		t.Errorf("changes = %q", changes(calls))
	}
}

func TestStopTimesOutWithTheLastState(t *testing.T) {
	p := pools()
	p["DefaultAppPool"].Delay = 1 << 20 // never finishes stopping
	fake(t, fakeState{Pools: p})
	// Long enough for the first look and the stop call on a busy machine.
	_, err := runIIS(t, StopAppPool, "DefaultAppPool", 5*time.Second)
	if !errors.Is(err, action.ErrFailed) || !strings.Contains(err.Error(), "still waiting to stop (state Stopping, worker processes 5124, 7788) after 5s") {
		t.Errorf("err = %v", err)
	}
}

func TestAppcmdFailureIsOneLine(t *testing.T) {
	fake(t, fakeState{Pools: pools(), Fail: map[string]int{"stop apppool": 5}})
	_, err := runIIS(t, StopAppPool, "DefaultAppPool", time.Minute)
	want := `stop-apppool DefaultAppPool: appcmd: Command execution failed. Access is denied. (exit code 5)`
	if !errors.Is(err, action.ErrFailed) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestExecutingThroughAppcmd(t *testing.T) {
	fixture, _ := filepath.Abs("testdata/appcmd_list_requests.xml")
	state := fake(t, fakeState{Requests: fixture})
	rs, err := executing(context.Background(), runAppcmd, Scope{Pool: "Shop Pool"})
	if err != nil || len(rs) != 17 || rs[0].URL != "/mccannwg/api/attendance/reprocessForCompilation?id=a6409ab0-a54e-4f85-8496-aa4d00ffe23a" || rs[0].Elapsed != 4974.406 || rs[0].Where != "Shop Pool" {
		t.Fatalf("rs=%v err=%v", rs, err)
	}
	if _, calls := state(); len(calls) != 1 || calls[0] != "list requests /apppool.name:Shop Pool /xml" {
		t.Errorf("calls = %q", calls)
	}
}

// appcmd may exit non-zero with an empty <appcmd></appcmd> when a list finds
// nothing (the stand-in does so by default): an idle pool or an idle site is
// then still readable, and a real error (no XML) still fails.
func TestEmptyListWithNonZeroExit(t *testing.T) {
	empty, _ := filepath.Abs("testdata/appcmd_list_requests_none.xml")
	for _, code := range []int{1, -1} {
		fake(t, fakeState{Pools: pools(), Requests: empty, EmptyExit: code})
		rs, err := executing(context.Background(), runAppcmd, Scope{Pool: "Idle"})
		if err != nil || len(rs) != 0 {
			t.Errorf("exit %d: list requests = %v, %v; want none", code, rs, err)
		}
		if out, err := runIIS(t, StopAppPool, "Idle", time.Minute); err != nil || !strings.Contains(out, `app pool "Idle" stopped`) {
			t.Errorf("exit %d: stop idle pool: err=%v out=%q", code, err, out)
		}
		if out, err := runIIS(t, StopAppPool, "Idle", time.Minute); err != nil || !strings.Contains(out, "already stopped") {
			t.Errorf("exit %d: stop stopped pool: err=%v out=%q", code, err, out)
		}
	}
	fake(t, fakeState{Pools: pools(), Fail: map[string]int{"list requests": 50}})
	if _, err := executing(context.Background(), runAppcmd, Scope{Pool: "Idle"}); err == nil || !strings.Contains(err.Error(), "exit code 50") {
		t.Errorf("a failing list: err = %v", err)
	}
}

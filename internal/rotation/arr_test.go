package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/winps"
	"github.com/drain-cli/drain/internal/winps/winpstest"
)

// The test binary doubles as the stand-in powershell.exe (winpstest): run
// as it before any test. An init, not a TestMain, so that other method
// files' tests can add their own helpers the same way.
func init() {
	if handled, code := winpstest.Main(); handled {
		os.Exit(code)
	}
}

// liftWindows lets the ARR and NLB types run here against the stand-in
// (on Windows and under Wine they run as they are).
func liftWindows(t *testing.T) {
	t.Helper()
	a, n := arrNeedsWindows, nlbNeedsWindows
	arrNeedsWindows, nlbNeedsWindows = false, false
	t.Cleanup(func() { arrNeedsWindows, nlbNeedsWindows = a, n })
}

func arrFarms() winpstest.State {
	return winpstest.State{ARR: winpstest.ARR{Farms: []winps.ARRFarm{
		{Name: "web", Servers: []winps.ARRServer{
			{Address: "10.0.0.5", Enabled: true, HTTPPort: 8080, State: 0, IsHealthy: true, CurrentRequests: 3},
			{Address: "10.0.0.6", Enabled: true, HTTPPort: 8080, State: 0, IsHealthy: false, CurrentRequests: 0},
			{Address: "app3", Enabled: false, HTTPPort: 80, State: 0, IsHealthy: true},
		}},
		{Name: "api", Servers: []winps.ARRServer{{Address: "10.0.0.5", Enabled: true, State: 0, IsHealthy: true}}},
	}}}
}

func arrState(t *testing.T, path, farm, server string) int {
	t.Helper()
	for _, f := range winpstest.Load(t, path).ARR.Farms {
		for _, s := range f.Servers {
			if f.Name == farm && s.Address == server {
				return s.State
			}
		}
	}
	t.Fatalf("no %s#%s in the stand-in", farm, server)
	return -1
}

// installDrained installs the stand-in with arrFarms' farm web and its
// server i in drain: the stand-in's state file.
func installDrained(t *testing.T, i int) string {
	t.Helper()
	st := arrFarms()
	st.ARR.Farms[0].Servers[i].State = winps.ARRDrain
	return winpstest.Install(t, st)
}

func newTestARR(t *testing.T, spec string) Method {
	t.Helper()
	m, err := NewMethod(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestARROutInRoundTrip(t *testing.T) {
	liftWindows(t)
	path := winpstest.Install(t, arrFarms())
	ctx := context.Background()
	m := newTestARR(t, "arr:WEB#10.0.0.5") // IIS names compare without case
	if got := Key(m); got != "arr:web#10.0.0.5" {
		t.Errorf("key %q", got)
	}
	if st, err := m.Status(ctx); st != In || err != nil {
		t.Fatalf("status before: %s %v", st, err)
	}
	var saved []byte
	changed, err := m.Out(ctx, func(undo any) error {
		// The state must still be the one before: save comes first.
		if s := arrState(t, path, "web", "10.0.0.5"); s != winps.ARRAvailable {
			t.Errorf("state %d before save returned", s)
		}
		var err error
		saved, err = json.Marshal(undo)
		return err
	})
	if !changed || err != nil {
		t.Fatalf("out: %v %v", changed, err)
	}
	if s := arrState(t, path, "web", "10.0.0.5"); s != winps.ARRDrain {
		t.Fatalf("after out the runtime state is %d, want 1 (drain)", s)
	}
	for _, o := range [][2]string{{"web", "10.0.0.6"}, {"api", "10.0.0.5"}} {
		if s := arrState(t, path, o[0], o[1]); s != winps.ARRAvailable {
			t.Errorf("%s#%s changed to %d", o[0], o[1], s)
		}
	}
	if !strings.Contains(string(saved), `"state":0`) {
		t.Errorf("undo %s", saved)
	}
	if st, err := m.Status(ctx); st != Out || err != nil {
		t.Fatalf("status after out: %s %v", st, err)
	}
	if changed, err := m.Out(ctx, func(any) error { t.Error("save on a second out"); return nil }); changed || err != nil {
		t.Fatalf("second out: %v %v", changed, err)
	}
	if changed, err := m.In(ctx, saved); !changed || err != nil {
		t.Fatalf("in: %v %v", changed, err)
	}
	if s := arrState(t, path, "web", "10.0.0.5"); s != winps.ARRAvailable {
		t.Fatalf("after in the runtime state is %d", s)
	}
	if changed, err := m.In(ctx, nil); changed || err != nil {
		t.Fatalf("second in: %v %v", changed, err)
	}
	if n := winpstest.Load(t, path).Calls["arr set"]; n != 2 {
		t.Errorf("%d SetState calls, want 2", n)
	}
}

// In without a record puts the server back to Available; with a record it
// restores the state it holds.
func TestARRInRestoresRecordedState(t *testing.T) {
	liftWindows(t)
	path := installDrained(t, 0)
	m := newTestARR(t, "arr:web#10.0.0.5")
	if changed, err := m.In(context.Background(), json.RawMessage(`{"farm":"web","server":"10.0.0.5","state":3}`)); !changed || err != nil {
		t.Fatalf("in: %v %v", changed, err)
	}
	if s := arrState(t, path, "web", "10.0.0.5"); s != winps.ARRUnavailableGracefully {
		t.Fatalf("state %d, want the recorded 3", s)
	}
	if changed, err := m.In(context.Background(), nil); !changed || err != nil {
		t.Fatalf("in: %v %v", changed, err)
	}
	if s := arrState(t, path, "web", "10.0.0.5"); s != winps.ARRAvailable {
		t.Fatalf("state %d, want 0", s)
	}
	if _, err := m.In(context.Background(), json.RawMessage(`{"state":7}`)); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad record: %v", err)
	}
}

func TestARRUnknownTarget(t *testing.T) {
	liftWindows(t)
	path := winpstest.Install(t, arrFarms())
	ctx := context.Background()
	for spec, want := range map[string][]string{
		"arr:wbe#10.0.0.5": {`no web farm "wbe" on this machine (farms: web, api)`, "did you mean web?"},
		"arr:web#10.0.0.7": {`no server "10.0.0.7" in web farm "web"`, "(it has: 10.0.0.5, 10.0.0.6, app3)", "did you mean 10.0.0.5?"},
	} {
		m := newTestARR(t, spec)
		_, err := m.Out(ctx, func(any) error { t.Error("save called"); return nil })
		if !errors.Is(err, ErrConfig) {
			t.Fatalf("%s: %v, want ErrConfig", spec, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", spec, err, w)
			}
		}
		if st, err := m.Status(ctx); st != Unknown || !errors.Is(err, ErrConfig) {
			t.Errorf("%s: status %s %v", spec, st, err)
		}
	}
	if n := winpstest.Load(t, path).Calls["arr set"]; n != 0 {
		t.Errorf("%d SetState calls on unknown targets", n)
	}
}

func TestARRBadTargetAndSettings(t *testing.T) {
	liftWindows(t)
	for spec, want := range map[string]string{
		"arr:web":          "want [ARR_HOST/]FARM#SERVER",
		"arr:#10.0.0.5":    "want a web farm name",
		"arr:web#":         "want a web farm name",
		"arr:/web#1.2.3.4": "empty ARR host",
	} {
		if _, err := NewMethod(spec, Options{}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrConfig with %q", spec, err, want)
		}
	}
	_, err := NewMethod("arr:web#a", Options{Settings: map[string]any{"hots": "x"}})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `rotation.arr: unknown setting "hots"`) {
		t.Errorf("settings: %v", err)
	}
	m, err := NewMethod("arr:ARR01/Web#App1", Options{})
	if err != nil || Key(m) != "arr:arr01/web#app1" || m.(*ARR).Host != "ARR01" {
		t.Errorf("remote target: %v %v", m, err)
	}
}

func TestARRNeedsWindows(t *testing.T) {
	a := arrNeedsWindows
	arrNeedsWindows = true
	defer func() { arrNeedsWindows = a }()
	_, err := NewMethod("arr:web#10.0.0.5", Options{})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "needs Windows") {
		t.Fatalf("%v", err)
	}
}

// A SetState ARR accepts without the state changing is an error, read
// back, and the server is reported where it is: IN.
func TestARRChangeNotTaken(t *testing.T) {
	liftWindows(t)
	st := arrFarms()
	st.ARR.IgnoreSet = true
	path := winpstest.Install(t, st)
	m := newTestARR(t, "arr:web#10.0.0.5")
	saved := false
	_, err := m.Out(context.Background(), func(any) error { saved = true; return nil })
	if err == nil || errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "ARR did not take the change: the runtime state is still available after SetState(1, drain)") {
		t.Fatalf("out: %v", err)
	}
	if !saved {
		t.Error("no undo saved before the change")
	}
	if st, err := m.Status(context.Background()); st != In || err != nil {
		t.Fatalf("status: %s %v", st, err)
	}
	if n := winpstest.Load(t, path).Calls["arr"]; n != 6 { // read, set, 3 re-reads, status
		t.Errorf("%d runs", n)
	}
}

// What the ARR server answers when it cannot be reached or refuses: the
// script's message, whole, not a usage error, and nothing changed.
func TestARRFailures(t *testing.T) {
	liftWindows(t)
	for name, c := range map[string]struct{ err, set string }{
		// Not elevated (or no rights on a remote ARR server): the IIS
		// configuration system cannot read redirection.config.
		"refused": {err: "Filename: redirection.config Error: Cannot read configuration file due to insufficient permissions"},
		// IIS without ARR: the webFarms section is not declared.
		"no arr": {err: `Exception calling "GetSection" with "1" argument(s): "The configuration section 'webFarms' cannot be read because it is missing a section declaration"`},
		// A remote ARR server that does not answer DCOM.
		"unreachable": {err: `Exception calling "OpenRemote" with "1" argument(s): "Retrieving the COM class factory for remote component failed due to the following error: 800706ba The RPC server is unavailable."`},
		"set refused": {set: "Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED))"},
	} {
		t.Run(name, func(t *testing.T) {
			st := arrFarms()
			st.ARR.Error, st.ARR.SetError = c.err, c.set
			path := winpstest.Install(t, st)
			m := newTestARR(t, "arr:web#10.0.0.5")
			_, err := m.Out(context.Background(), func(any) error { return nil })
			want := c.err + c.set
			if err == nil || errors.Is(err, ErrConfig) || !errors.Is(err, winps.ErrScript) || !strings.Contains(err.Error(), want) ||
				!strings.Contains(err.Error(), "arr web#10.0.0.5 on this machine") {
				t.Fatalf("out: %v", err)
			}
			if s := arrState(t, path, "web", "10.0.0.5"); s != winps.ARRAvailable {
				t.Fatalf("state %d", s)
			}
			if c.err != "" {
				if st, err := m.Status(context.Background()); st != Unknown || err == nil {
					t.Fatalf("status %s %v", st, err)
				}
			}
		})
	}
}

// Without a powershell.exe at all (a Windows without Windows PowerShell,
// a DRAIN_POWERSHELL naming nothing) the error names the program.
func TestARRNoPowerShell(t *testing.T) {
	liftWindows(t)
	t.Setenv("PATH", t.TempDir())
	t.Setenv("DRAIN_POWERSHELL", filepath.Join(t.TempDir(), "powershell.exe"))
	m := newTestARR(t, "arr:web#10.0.0.5")
	_, err := m.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "powershell.exe (Windows PowerShell)") {
		t.Fatalf("%v", err)
	}
}

// A server disabled in configuration (enabled=false, IIS Manager's "Take
// Server Offline") gets no requests whatever its runtime state: status
// says OUT, out changes nothing.
func TestARRDisabledServerIsOut(t *testing.T) {
	liftWindows(t)
	path := winpstest.Install(t, arrFarms())
	m := newTestARR(t, "arr:web#app3")
	if st, err := m.Status(context.Background()); st != Out || err != nil {
		t.Fatalf("status of a disabled server: %s %v, want OUT", st, err)
	}
	if changed, err := m.Out(context.Background(), func(any) error { t.Error("save"); return nil }); changed || err != nil {
		t.Fatalf("out %v %v", changed, err)
	}
	if n := winpstest.Load(t, path).Calls["arr set"]; n != 0 {
		t.Errorf("%d SetState calls", n)
	}
}

// in after Ctrl-C must fit the 3 s restore window: one Windows PowerShell
// start that sets the state unless it already matches and lists the farms.
func TestARRInOneRun(t *testing.T) {
	liftWindows(t)
	path := installDrained(t, 0)
	m := newTestARR(t, "arr:web#10.0.0.5")
	if changed, err := m.In(context.Background(), []byte(`{"farm":"web","server":"10.0.0.5","state":0}`)); !changed || err != nil {
		t.Fatalf("in %v %v", changed, err)
	}
	if n := winpstest.Load(t, path).Calls["arr"]; n != 1 {
		t.Errorf("in started PowerShell %d times, want 1", n)
	}
	if changed, err := m.In(context.Background(), nil); changed || err != nil {
		t.Fatalf("second in %v %v", changed, err)
	}
	calls := winpstest.Load(t, path).Calls
	if calls["arr"] != 2 || calls["arr set"] != 1 {
		t.Errorf("calls %v", calls)
	}
	// An unknown server: nothing set, the usage error names what exists.
	_, err := newTestARR(t, "arr:web#10.0.0.9").In(context.Background(), nil)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "(it has: 10.0.0.5, 10.0.0.6, app3)") {
		t.Fatalf("%v", err)
	}
}

// With IIS Express in the GAC (Visual Studio's web workload, GitHub's
// Windows images) LoadWithPartialName takes its 7.9.0.0 and reads IIS
// Express's configuration: drain must load the IIS one by path.
func TestARRWithIISExpressInGAC(t *testing.T) {
	liftWindows(t)
	st := arrFarms()
	st.ARR.IISExpress = true
	winpstest.Install(t, st)
	if s, err := newTestARR(t, "arr:web#10.0.0.5").Status(context.Background()); s != In || err != nil {
		t.Fatalf("status %s %v", s, err)
	}
}

// A UTF-8 BOM before the JSON (a console encoding with a preamble) is
// not an error.
func TestARRBOM(t *testing.T) {
	liftWindows(t)
	st := arrFarms()
	st.BOM = true
	winpstest.Install(t, st)
	if s, err := newTestARR(t, "arr:web#10.0.0.5").Status(context.Background()); s != In || err != nil {
		t.Fatalf("status %s %v", s, err)
	}
}

// Constrained Language Mode (AppLocker, WDAC) cannot load the assembly:
// the error says so and how to fix it.
func TestARRConstrainedLanguage(t *testing.T) {
	liftWindows(t)
	st := arrFarms()
	st.LanguageMode = "ConstrainedLanguage"
	winpstest.Install(t, st)
	_, err := newTestARR(t, "arr:web#10.0.0.5").Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ConstrainedLanguage mode (an AppLocker or WDAC policy)") || !strings.Contains(err.Error(), "allow FullLanguage") {
		t.Fatalf("%v", err)
	}
}

func TestARRPool(t *testing.T) {
	liftWindows(t)
	installDrained(t, 1)
	p, err := newTestARR(t, "arr:web#10.0.0.5").(Pooler).Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	want := `{"name":"web","members":[` +
		`{"name":"10.0.0.5","addr":"10.0.0.5:8080","admin":"enabled","health":"up","in_rotation":true,"self":true,"sessions":3,"detail":"state available, healthy true, enabled true"},` +
		`{"name":"10.0.0.6","addr":"10.0.0.6:8080","admin":"drain","health":"down","in_rotation":false,"sessions":0,"detail":"state drain, healthy false, enabled true"},` +
		`{"name":"app3","addr":"app3:80","admin":"disabled","health":"up","in_rotation":false,"sessions":0,"detail":"state available, healthy true, enabled false"}]}`
	if string(b) != want {
		t.Errorf("pool\n got %s\nwant %s", b, want)
	}
}

// The script drain runs never writes the configuration: a webFarms write
// restarts ASP.NET Core worker processes (dotnet/aspnetcore#8775).
func TestARRScriptWritesNoConfig(t *testing.T) {
	for _, bad := range []string{"CommitChanges", "applicationHost.config", "Set-WebConfiguration", "Set-ItemProperty"} {
		if strings.Contains(strings.ToLower(winps.ARRScript), strings.ToLower(bad)) {
			t.Errorf("ARRScript uses %s", bad)
		}
	}
	for _, want := range []string{"Methods['SetState']", "GetChildElement('counters')", "GetSection('webFarms')"} {
		if strings.Count(winps.ARRScript, want) == 0 {
			t.Errorf("ARRScript lacks %s", want)
		}
	}
}

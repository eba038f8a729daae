package source

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/winps"
	"github.com/drain-cli/drain/internal/winps/winpstest"
)

// The test binary doubles as the stand-in powershell.exe (an init, so it
// runs before TestMain's exec helper).
func init() {
	if handled, code := winpstest.Main(); handled {
		os.Exit(code)
	}
}

func TestARRSource(t *testing.T) {
	a := arrNeedsWindows
	arrNeedsWindows = false
	defer func() { arrNeedsWindows = a }()
	path := winpstest.Install(t, winpstest.State{ARR: winpstest.ARR{Farms: []winps.ARRFarm{
		{Name: "web", Servers: []winps.ARRServer{
			{Address: "10.0.0.5", State: 1, IsHealthy: true, CurrentRequests: 7},
			{Address: "10.0.0.6", CurrentRequests: 2},
		}},
	}}})
	read := func(spec string) (float64, error) {
		t.Helper()
		sp, err := ParseSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		src, err := New(sp, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return src.Read(context.Background())
	}
	if v, err := read("arr:WEB#10.0.0.5"); v != 7 || err != nil {
		t.Fatalf("read %v %v", v, err)
	}
	st := winpstest.Load(t, path)
	st.ARR.Farms[0].Servers[0].CurrentRequests = 0
	winpstest.Save(t, path, st)
	if v, err := read("arr:web#10.0.0.5"); v != 0 || err != nil {
		t.Fatalf("read %v %v", v, err)
	}
	if _, err := read("arr:web#10.0.0.9"); err == nil || !strings.Contains(err.Error(), `no server "10.0.0.9" (servers: 10.0.0.5, 10.0.0.6)`) {
		t.Errorf("unknown server: %v", err)
	}
	if _, err := read("arr:api#10.0.0.5"); err == nil || !strings.Contains(err.Error(), `no web farm "api" (farms: web)`) {
		t.Errorf("unknown farm: %v", err)
	}
	st.ARR.Error = "Filename: redirection.config Error: Cannot read configuration file due to insufficient permissions"
	winpstest.Save(t, path, st)
	if _, err := read("arr:web#10.0.0.5"); err == nil || !strings.Contains(err.Error(), "insufficient permissions") {
		t.Errorf("refused: %v", err)
	}
	if winpstest.Load(t, path).Calls["arr set"] != 0 {
		t.Error("a source changed the state")
	}
}

func TestARRSourceSpec(t *testing.T) {
	for spec, want := range map[string]string{
		"arr:web":  "want [ARR_HOST/]FARM#SERVER",
		"arr:web#": "want a web farm name",
		"arr:/w#s": "empty ARR host",
	} {
		sp, err := ParseSpec(spec)
		if err == nil {
			_, err = New(sp, Options{})
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
	if !arrNeedsWindows {
		return
	}
	sp, _ := ParseSpec("arr:web#a")
	if _, err := New(sp, Options{}); err == nil || !strings.Contains(err.Error(), "only on Windows") {
		t.Errorf("%v", err)
	}
}

// The arr source's total is the server's totalRequests (ARR's counters
// element, served by the stand-in powershell): the balancer's arrivals
// counter; #total=off reads none.
func TestARRSourceArrivals(t *testing.T) {
	a := arrNeedsWindows
	arrNeedsWindows = false
	defer func() { arrNeedsWindows = a }()
	path := winpstest.Install(t, winpstest.State{ARR: winpstest.ARR{Farms: []winps.ARRFarm{
		{Name: "web", Servers: []winps.ARRServer{{Address: "10.0.0.5", State: 1, IsHealthy: true, CurrentRequests: 1, TotalRequests: 500}}},
	}}})
	open := func(spec string) Source {
		t.Helper()
		sp, err := ParseSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		src, err := New(sp, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	src := open("arr:web#10.0.0.5")
	total := func() float64 {
		t.Helper()
		if v, err := src.Read(context.Background()); v != 1 || err != nil {
			t.Fatalf("read %v %v", v, err)
		}
		v, ok := src.(Totaler).Total()
		if !ok {
			t.Fatal("no total")
		}
		return v
	}
	if v := total(); v != 500 {
		t.Errorf("total %v, want totalRequests 500", v)
	}
	st := winpstest.Load(t, path)
	st.ARR.Farms[0].Servers[0].TotalRequests = 503
	winpstest.Save(t, path, st)
	if v := total(); v != 503 {
		t.Errorf("total %v, want 503", v)
	}
	off := open("arr:web#10.0.0.5#total=off")
	if _, err := off.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, ok := off.(Totaler).Total(); ok {
		t.Errorf("#total=off: total %v", v)
	}
	sp, _ := ParseSpec("arr:web#10.0.0.5#total=stot")
	if _, err := New(sp, Options{}); err == nil || !strings.Contains(err.Error(), "totalrequests") {
		t.Errorf("#total=stot: %v", err)
	}
}

package pdh

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/drain-cli/drain/internal/testutil"
)

// The counter sets of manifest-based providers, through the consumer
// functions as documented (sized with no buffer, then read): here the
// stand-in's, Wine's advapi32 having neither function.
func TestCounterSetsFromStandIn(t *testing.T) {
	stub := windows.NewLazySystemDLL("pdh.dll")
	if stub.NewProc("PdhStubLoaded").Find() != nil {
		t.Skip("pdh.dll is not the test stand-in (scripts/wine/setup.sh installs it under Wine)")
	}
	dir := testutil.TempDir(t)
	write := func(env, name string, lines ...string) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(env, p)
	}
	write("PDHSTUB_FILE", "counters.txt", `\HTTP Service Request Queues(Shop)\CurrentQueueSize 2`,
		`\HTTP Service Request Queues(Shop)\RejectedRequests 0`, `\HTTP Service Url Groups(FF00000040000001)\CurrentConnections 1`)
	write("PDHSTUB_LOCAL", "local.txt", "HTTP Service Request Queues\tHTTP-Dienstanforderungswarteschlangen",
		"CurrentQueueSize\tAktuelle Warteschlangengröße")
	write("PDHSTUB_V2", "v2.txt", "HTTP Service Request Queues", "HTTP Service Url Groups")
	sets, err := CounterSetsFrom(stub)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 {
		t.Fatalf("got %d counter sets, want 2: %+v", len(sets), sets)
	}
	q := sets[0]
	if q.English != "HTTP Service Request Queues" || !slices.Contains(q.Local, "HTTP-Dienstanforderungswarteschlangen") ||
		q.Counters["aktuelle warteschlangengröße"] != "CurrentQueueSize" || q.Counters["rejectedrequests"] != "RejectedRequests" {
		t.Errorf("HTTP Service Request Queues: %+v", q)
	}
	if g := sets[1]; g.English != "HTTP Service Url Groups" || g.Counters["currentconnections"] != "CurrentConnections" {
		t.Errorf("HTTP Service Url Groups: %+v", g)
	}
}

// Before Windows 10 1607 / Server 2016 (and under Wine) advapi32 has no
// PerfEnumerateCounterSet: no counter sets, no error, the Perflib names
// still apply.
func TestCounterSetsWithoutTheFunctions(t *testing.T) {
	if advapi32.NewProc("PerfEnumerateCounterSet").Find() == nil {
		t.Skip("this advapi32 has PerfEnumerateCounterSet")
	}
	sets, err := CounterSets()
	if sets != nil || err != nil {
		t.Fatalf("CounterSets() = %v, %v; want nil, nil", sets, err)
	}
}

// On a real Windows Server 2016 or later with IIS (the windows workflow):
// HTTP.sys's counter sets come from the Performance Counter Library with
// their English names, and LoadNames maps them.
func TestRealCounterSets(t *testing.T) {
	if os.Getenv("DRAIN_REAL_WINDOWS") == "" {
		t.Skip("needs a real Windows with IIS: set DRAIN_REAL_WINDOWS=1 (the windows workflow does)")
	}
	sets, err := CounterSets()
	if err != nil {
		t.Logf("some counter sets could not be read: %v", err)
	}
	var queues *CounterSet
	for i := range sets {
		if sets[i].English == "HTTP Service Request Queues" {
			queues = &sets[i]
		}
	}
	if queues == nil {
		t.Fatalf("no counter set HTTP Service Request Queues among %d", len(sets))
	}
	if queues.Counters["currentqueuesize"] != "CurrentQueueSize" {
		t.Errorf("HTTP Service Request Queues counters: %v", queues.Counters)
	}
	names, err := LoadNames()
	if err != nil {
		t.Logf("LoadNames: %v", err)
	}
	for _, local := range queues.Local {
		if got := names.English(local); got != "HTTP Service Request Queues" {
			t.Errorf("English(%q) = %q", local, got)
		}
	}
}

package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/source/pdh"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// stub skips unless pdh.dll is the file-driven stand-in that
// scripts/wine/setup.sh installs under Wine, and returns a function that
// rewrites the stand-in's counter file.
func stub(t *testing.T) func(lines ...string) {
	t.Helper()
	if windows.NewLazySystemDLL("pdh.dll").NewProc("PdhStubLoaded").Find() != nil {
		t.Skip("pdh.dll is not the test stand-in (scripts/wine/setup.sh installs it under Wine); real counters are tested by TestRealCounters")
	}
	file := filepath.Join(t.TempDir(), "counters.txt")
	t.Setenv("PDHSTUB_FILE", file)
	write := func(lines ...string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write()
	return write
}

func newPDHTest(t *testing.T, raw string) Source {
	t.Helper()
	spec, err := ParseSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(spec, Options{ReadTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func wantRead(t *testing.T, src Source, want float64, note string) {
	t.Helper()
	v, err := src.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if v != want {
		t.Errorf("Read = %v, want %v", v, want)
	}
	if got := src.(Noter).Note(); got != note {
		t.Errorf("Note = %q, want %q", got, note)
	}
}

func wantErr(t *testing.T, src Source, text string) {
	t.Helper()
	v, err := src.Read(context.Background())
	if err == nil || !strings.Contains(err.Error(), text) {
		t.Fatalf("Read = %v, %v; want an error containing %q", v, err, text)
	}
}

const (
	w3wp  = `\W3SVC_W3WP(*)\Active Requests`
	ws    = `\W3SVC_W3WP(*)\WebSocket Active Requests`
	queue = `\HTTP Service Request Queues(%s)\CurrentQueueSize`
)

func TestPDHCounterChangesBetweenPolls(t *testing.T) {
	write := stub(t)
	write(`\W3SVC_W3WP(1234_Shop)\Active Requests 3`)
	src := newPDHTest(t, `pdh:\W3SVC_W3WP(1234_Shop)\Active Requests`)
	wantRead(t, src, 3, "")
	write(`\W3SVC_W3WP(1234_Shop)\Active Requests 0`)
	wantRead(t, src, 0, "")
}

func TestPDHWildcardSumsInstancesButNotTotal(t *testing.T) {
	write := stub(t)
	write(`\W3SVC_W3WP(1234_Shop)\Active Requests 3`,
		`\W3SVC_W3WP(5678_Shop)\Active Requests 2`,
		`\W3SVC_W3WP(99_Blog)\Active Requests 4`,
		`\W3SVC_W3WP(_Total)\Active Requests 9`)
	wantRead(t, newPDHTest(t, "pdh:"+w3wp), 9, "")
}

func TestPDHRemotePath(t *testing.T) {
	write := stub(t)
	write(`\\web2\ASP.NET State Service\State Server Sessions Active 7`,
		`\ASP.NET State Service\State Server Sessions Active 1`)
	wantRead(t, newPDHTest(t, "state-server:web2"), 7, "")
	wantRead(t, newPDHTest(t, "state-server"), 1, "")
	wantRead(t, newPDHTest(t, `pdh:\\web2\ASP.NET State Service\State Server Sessions Active`), 7, "")
	wantErr(t, newPDHTest(t, `pdh:\\web3\ASP.NET State Service\State Server Sessions Active`), "PDH_CSTATUS_NO_MACHINE")
}

func TestPDHAbsentInstanceIsIdleWithANote(t *testing.T) {
	write := stub(t)
	write(`\W3SVC_W3WP(1234_Shop)\Active Requests 2`, `\W3SVC_W3WP(5_Blog)\Active Requests 1`)
	src := newPDHTest(t, `pdh:\W3SVC_W3WP(1234_Shop)\Active Requests`)
	wantRead(t, src, 2, "")
	write(`\W3SVC_W3WP(5_Blog)\Active Requests 1`) // Shop's worker is gone
	defer func(e func() bool) { elevated = e }(elevated)
	elevated = func() bool { return true }
	wantRead(t, src, 0, `absent, counted as 0: \W3SVC_W3WP(1234_Shop)\Active Requests`)

	// Unelevated, "nothing has data" may only mean "not allowed to see it".
	elevated = func() bool { return false }
	wantErr(t, src, "no counter has data (PDH_NO_DATA) and drain is not elevated")
}

func TestPDHUnknownObjectOrCounterIsAnError(t *testing.T) {
	write := stub(t)
	write(`\W3SVC_W3WP(1_Shop)\Active Requests 1`, `\Broken(*)\Counter NO_OBJECT`, `\Half\Counter NO_COUNTER`)
	for path, text := range map[string]string{
		`\Nope\Counter`:                `\Nope\Counter: The specified object is not found on the system (PDH_CSTATUS_NO_OBJECT 0xC0000BB8)`,
		`\Broken(*)\Counter`:           "PDH_CSTATUS_NO_OBJECT",
		`\W3SVC_W3WP(*)\Nope`:          `\W3SVC_W3WP(*)\Nope: The specified counter could not be found (PDH_CSTATUS_NO_COUNTER 0xC0000BB9)`,
		`\Half\Counter`:                "PDH_CSTATUS_NO_COUNTER",
		`\W3SVC_W3WP(1_Shop)\Nope Two`: "PDH_CSTATUS_NO_COUNTER",
	} {
		wantErr(t, newPDHTest(t, "pdh:"+path), text)
	}
	// A counter that disappears after the source was built is an error too.
	src := newPDHTest(t, `pdh:\W3SVC_W3WP(1_Shop)\Active Requests`)
	wantRead(t, src, 1, "")
	write(`\W3SVC_W3WP(1_Shop)\Active Requests NO_OBJECT`)
	wantErr(t, src, "PDH_CSTATUS_NO_OBJECT")
}

func TestPDHRateCounterGetsTwoSamples(t *testing.T) {
	write := stub(t)
	write(`\Processor(_Total)\% Processor Time 12.5 rate`)
	src := newPDHTest(t, `pdh:\Processor(_Total)\% Processor Time`)
	wantRead(t, src, 12.5, "")
	wantRead(t, src, 12.5, "") // the open query needs one sample from now on
}

func TestIISPresetSumsPoolCounters(t *testing.T) {
	write := stub(t)
	poolWAS := `\APP_POOL_WAS(Shop)\Current Worker Processes `
	// An overlapped recycle: two worker processes of Shop at once.
	write(`\W3SVC_W3WP(1234_Shop)\Active Requests 3`,
		`\W3SVC_W3WP(5678_Shop)\Active Requests 1`,
		`\W3SVC_W3WP(99_Blog)\Active Requests 40`,
		`\W3SVC_W3WP(_Total)\Active Requests 44`,
		`\W3SVC_W3WP(1234_Shop)\WebSocket Active Requests 2`,
		`\W3SVC_W3WP(99_Blog)\WebSocket Active Requests 5`,
		strings.Replace(queue, "%s", "Shop", 1)+" 4",
		strings.Replace(queue, "%s", "Blog", 1)+" 6",
		poolWAS+"2")
	src := newPDHTest(t, "iis:shop")
	wantRead(t, src, 3+1+2+4, "")

	// Shop's workers are gone, Blog's remain: Shop is idle, said so.
	write(`\W3SVC_W3WP(99_Blog)\Active Requests 40`,
		`\W3SVC_W3WP(99_Blog)\WebSocket Active Requests 5`,
		strings.Replace(queue, "%s", "Shop", 1)+" 0",
		poolWAS+"0")
	wantRead(t, src, 0, "absent, counted as 0: no worker process of pool shop")

	// Nothing at all: believed unelevated only because WAS says no worker.
	defer func(e func() bool) { elevated = e }(elevated)
	elevated = func() bool { return false }
	write(w3wp+" -", ws+" -", strings.Replace(queue, "%s", "Blog", 1)+" 0", poolWAS+"0")
	wantRead(t, src, 0, "absent, counted as 0: no worker process of pool shop; no HTTP.sys queue for pool shop")
	write(w3wp+" -", ws+" -", strings.Replace(queue, "%s", "Blog", 1)+" 0", poolWAS+"1")
	wantErr(t, src, "drain is not elevated")
}

func TestASPNetPresetsSumSiteAppDomains(t *testing.T) {
	write := stub(t)
	defer func(f func() string) { appHostConfig = f }(appHostConfig)
	appHostConfig = func() string { return filepath.Join("pdh", "testdata", "applicationHost.config") }
	write(`\ASP.NET Apps v4.0.30319(_LM_W3SVC_12_ROOT)\Requests Executing 2`,
		`\ASP.NET Apps v4.0.30319(_LM_W3SVC_12_ROOT_api)\Requests Executing 3`,
		`\ASP.NET Apps v4.0.30319(_LM_W3SVC_1_ROOT)\Requests Executing 7`,
		`\ASP.NET Apps v4.0.30319(__Total__)\Requests Executing 12`,
		`\ASP.NET Applications(_LM_W3SVC_12_ROOT)\Sessions Active 30`,
		`\ASP.NET Applications(_LM_W3SVC_1_ROOT)\Sessions Active 1`)
	wantRead(t, newPDHTest(t, "aspnet:Shop"), 5, "")
	wantRead(t, newPDHTest(t, "aspnet-sessions:Shop"), 30, "")
	wantRead(t, newPDHTest(t, "aspnet:Default Web Site"), 7, "")
	_, err := New(Spec{Type: "aspnet", Target: "Blog"}, Options{})
	if err == nil || !strings.Contains(err.Error(), `no IIS site "Blog" (sites: Default Web Site, Shop)`) {
		t.Errorf("unknown site: %v", err)
	}
}

// TestRealCounters reads counters every Windows machine has, through the
// real pdh.dll: a raw count, a rate counter and an unknown object.
func TestRealCounters(t *testing.T) {
	if windows.NewLazySystemDLL("pdh.dll").NewProc("PdhStubLoaded").Find() == nil {
		t.Skip("pdh.dll is the test stand-in; real counters need a real Windows machine (the windows-latest CI job)")
	}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Wine`, registry.QUERY_VALUE); err == nil {
		k.Close()
		t.Skip("Wine's pdh.dll knows two fake counters; real counters need a real Windows machine")
	}
	v, err := newPDHTest(t, `pdh:\System\Processes`).Read(context.Background())
	if err != nil || v < 1 {
		t.Errorf(`\System\Processes = %v, %v; want a count >= 1`, v, err)
	}
	v, err = newPDHTest(t, `pdh:\Processor(_Total)\% Processor Time`).Read(context.Background())
	if err != nil || v < 0 {
		t.Errorf("processor time = %v, %v", v, err)
	}
	wantErr(t, newPDHTest(t, `pdh:\No Such Object Here\Nothing`), "PDH_CSTATUS_NO_OBJECT")
}

// A remote machine that does not answer blocks a PDH call for long (the
// stand-in: machine "unreachable" blocks for PDHSTUB_HANG_MS). A read must
// end at --read-timeout as unknown, the next must not start a second stuck
// call, and cancelling must end a read at once.
func TestPDHUnreachableMachineIsBoundedByReadTimeout(t *testing.T) {
	write := stub(t)
	t.Setenv("PDHSTUB_HANG_MS", "60000")
	write(`\ASP.NET State Service\State Server Sessions Active 1`)
	spec, err := ParseSpec("state-server:unreachable")
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(spec, Options{ReadTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = src.Read(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer within the read timeout (1s)") {
		t.Errorf("first read: err = %v", err)
	}
	// Generous: the stand-in blocks for 60 s, the read timeout is 1 s.
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("first read took %s, want about the 1s read timeout", el)
	}
	start = time.Now()
	_, err = src.Read(context.Background())
	if err == nil || !strings.Contains(err.Error(), "previous read still running") {
		t.Errorf("second read: err = %v", err)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("second read took %s, want at once", el)
	}

	// A fresh source, interrupted: ends with the context, not the hang.
	src, err = New(spec, Options{ReadTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start = time.Now()
	if _, err := src.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted read: err = %v", err)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("interrupted read took %s", el)
	}

	// Another source is not held up by the stuck one.
	wantRead(t, newPDHTest(t, "state-server"), 1, "")
}

// HTTP.sys names a pool's queue instance after the pool, with "#N" on
// duplicates, and a pool name may hold characters PDH reads as path syntax
// ('/' parent, '#' index): the queue must be found among all instances, not
// through a path built from the name.
func TestIISQueueInstancesWithSuffixesAndReservedCharacters(t *testing.T) {
	write := stub(t)
	defer func(e func() bool) { elevated = e }(elevated)
	elevated = func() bool { return true }
	write(w3wp+" -", ws+" -",
		strings.Replace(queue, "%s", "Shop", 1)+" 4",
		strings.Replace(queue, "%s", "Shop#1", 1)+" 3",
		strings.Replace(queue, "%s", "Shopping", 1)+" 50",
		strings.Replace(queue, "%s", "api/v2", 1)+" 6",
		strings.Replace(queue, "%s", "v2", 1)+" 70",
		`\APP_POOL_WAS(Shop)\Current Worker Processes 0`,
		`\APP_POOL_WAS(api/v2)\Current Worker Processes 0`)
	wantRead(t, newPDHTest(t, "iis:shop"), 7, "absent, counted as 0: no worker process of pool shop")
	wantRead(t, newPDHTest(t, "iis:api/v2"), 6, "absent, counted as 0: no worker process of pool api/v2")

	// Unelevated with nothing anywhere: WAS confirms through the same match.
	elevated = func() bool { return false }
	write(w3wp+" -", ws+" -", `\HTTP Service Request Queues(*)\CurrentQueueSize -`,
		`\APP_POOL_WAS(api/v2)\Current Worker Processes 0`, `\APP_POOL_WAS(v2)\Current Worker Processes 1`)
	wantRead(t, newPDHTest(t, "iis:API/v2"), 0, "absent, counted as 0: no worker process of pool API/v2; no HTTP.sys queue for pool API/v2")
}

// An instance appearing between the sizing call and the read (a new worker
// during an overlapped recycle) makes the read answer PDH_MORE_DATA with a
// size not to be relied on: sizing starts again from zero.
func TestPDHInstanceAppearingMidRead(t *testing.T) {
	write := stub(t)
	write(`\W3SVC_W3WP(1234_Shop)\Active Requests 3`,
		`\W3SVC_W3WP(9999_Shop)\Active Requests 2 late`,
		`\W3SVC_W3WP(_Total)\Active Requests 5`)
	src := newPDHTest(t, "pdh:"+w3wp)
	wantRead(t, src, 5, "")
	wantRead(t, src, 5, "")
}

// PdhEnumObjects rebuilds the object list on every call with bRefresh TRUE,
// and the list may grow meanwhile: refresh on the first call only, so the
// sizing and the filling calls see the same list.
func TestPDHObjectListRefreshedOnce(t *testing.T) {
	write := stub(t)
	lines := []string{`\W3SVC_W3WP(1_Shop)\Active Requests 1`}
	for i := range 8 {
		lines = append(lines, fmt.Sprintf(`\Late Object %d\Counter 1 late`, i))
	}
	write(lines...)
	objs, err := pdh.Objects("")
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	if !slices.Contains(objs, "W3SVC_W3WP") {
		t.Errorf("Objects = %q", objs)
	}
}

// PdhEnumObjectItemsW is sized with NULL lists ("Set to NULL if
// pcchCounterListLength is zero"): the stand-in refuses a buffer of size
// zero, as the documentation allows no other.
func TestPDHItemsSizedWithNull(t *testing.T) {
	write := stub(t)
	write(`\W3SVC_W3WP(1_Shop)\Active Requests 1`, `\W3SVC_W3WP(2_Api)\Active Requests 0`)
	counters, instances, err := pdh.Items("", "W3SVC_W3WP")
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	if !slices.Contains(counters, "Active Requests") || !slices.Contains(instances, "1_Shop") || !slices.Contains(instances, "2_Api") {
		t.Errorf("Items = %q, %q", counters, instances)
	}
}

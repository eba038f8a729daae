package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/source"
	"github.com/drain-cli/drain/internal/source/pdh"
	"github.com/drain-cli/drain/internal/testutil"
)

// TestCountersListsPDH lists the stand-in pdh.dll's counters and the
// presets they suggest (scripts/wine/setup.sh installs it under Wine).
func TestCountersListsPDH(t *testing.T) {
	if windows.NewLazySystemDLL("pdh.dll").NewProc("PdhStubLoaded").Find() != nil {
		t.Skip("pdh.dll is not the test stand-in (scripts/wine/setup.sh installs it under Wine)")
	}
	file := filepath.Join(t.TempDir(), "counters.txt")
	t.Setenv("PDHSTUB_FILE", file)
	lines := []string{
		`\W3SVC_W3WP(1234_Shop)\Active Requests 3`,
		`\W3SVC_W3WP(5678_Shop)\Active Requests 1`,
		`\W3SVC_W3WP(99_Blog)\WebSocket Active Requests 0`,
		`\ASP.NET State Service\State Server Sessions Active 2`,
		`\System\Processes 80`,
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, out, _ := iostreams.Test()
	root := NewRootCmd(NewFactory(ios))
	root.SetArgs([]string{"counters", "requests"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`pdh:\W3SVC_W3WP(*)\Active Requests` + "\tinstances: 1234_Shop, 5678_Shop, 99_Blog",
		`pdh:\W3SVC_W3WP(*)\WebSocket Active Requests`,
		"presets for this machine:",
		"iis:Blog\t", "iis:Shop\t", "state-server\t",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `\System\Processes`) {
		t.Errorf("filter not applied:\n%s", got)
	}
}

// On a German Windows the enumeration answers "Prozessor" and
// "Prozessorzeit (%)", which PdhAddEnglishCounter rejects: drain counters
// must print the English names (through the Perflib indexes, recorded in
// internal/source/pdh/testdata) so that every spec it prints works.
func TestCountersPrintsEnglishNamesOnALocalizedWindows(t *testing.T) {
	if windows.NewLazySystemDLL("pdh.dll").NewProc("PdhStubLoaded").Find() != nil {
		t.Skip("pdh.dll is not the test stand-in (scripts/wine/setup.sh installs it under Wine)")
	}
	dir := t.TempDir()
	file, localFile := filepath.Join(dir, "counters.txt"), filepath.Join(dir, "local.txt")
	t.Setenv("PDHSTUB_FILE", file)
	t.Setenv("PDHSTUB_LOCAL", localFile)
	write := func(name string, lines ...string) {
		if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(file, `\Processor(_Total)\% Processor Time 12.5`, `\Processor(0)\% Processor Time 12.5`,
		`\W3SVC_W3WP(1234_Shop)\Active Requests 3`)
	write(localFile, "Processor\tProzessor", "% Processor Time\tProzessorzeit (%)")
	// Wine synthesizes Perflib\009 (read-only, two counters): the recorded
	// German and English lists are given to drain as LoadNames would read
	// them on a German Windows.
	list := func(name string) []string {
		b, err := os.ReadFile(filepath.Join("..", "source", "pdh", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	}
	ios, out, _ := iostreams.Test()
	fac := NewFactory(ios)
	fac.PerfNames = func() (*pdh.Names, error) {
		return pdh.NewNames(list("perflib_009.txt"), list("perflib_007.txt")), nil
	}
	root := NewRootCmd(fac)
	root.SetArgs([]string{"counters", "prozessor"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	spec := `pdh:\Processor(*)\% Processor Time`
	if !strings.Contains(got, spec+"\tinstances: ") || strings.Contains(got, "Prozessor") {
		t.Fatalf("want %s (English), got:\n%s", spec, got)
	}
	parsed, err := source.ParseSpec(strings.Replace(spec, "(*)", "(_Total)", 1))
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.New(parsed, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := src.Read(context.Background()); err != nil || v != 12.5 {
		t.Errorf("reading the printed spec: %v, %v", v, err)
	}
}

// HTTP Service Request Queues is a counter set of a manifest-based provider
// (HTTP.sys, through the kernel-mode Performance Counter Library): its
// names are in the provider's resources, not in the Perflib lists, so a
// German Windows enumerates it under its German names and the Perflib
// mapping leaves them as they are. drain counters must still print the
// English names (asked of the Performance Counter Library:
// PERF_REG_COUNTERSET_ENGLISH_NAME, PERF_REG_COUNTER_ENGLISH_NAMES), which
// PdhAddEnglishCounterW takes.
func TestCountersPrintsEnglishNamesOfManifestCounterSets(t *testing.T) {
	stub := windows.NewLazySystemDLL("pdh.dll")
	if stub.NewProc("PdhStubLoaded").Find() != nil {
		t.Skip("pdh.dll is not the test stand-in (scripts/wine/setup.sh installs it under Wine)")
	}
	dir := testutil.TempDir(t)
	file, localFile, v2File := filepath.Join(dir, "counters.txt"), filepath.Join(dir, "local.txt"), filepath.Join(dir, "v2.txt")
	t.Setenv("PDHSTUB_FILE", file)
	t.Setenv("PDHSTUB_LOCAL", localFile)
	t.Setenv("PDHSTUB_V2", v2File)
	write := func(name string, lines ...string) {
		if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(file, `\HTTP Service Request Queues(Shop)\CurrentQueueSize 2`,
		`\HTTP Service Request Queues(Shop)\RejectedRequests 0`,
		`\Processor(_Total)\% Processor Time 12.5`)
	// German names as a German Windows would show them (made up where
	// no German capture was at hand: what matters is that they are not the
	// English ones and not in the Perflib lists).
	write(localFile, "HTTP Service Request Queues\tHTTP-Dienstanforderungswarteschlangen",
		"CurrentQueueSize\tAktuelle Warteschlangengröße", "RejectedRequests\tAbgelehnte Anforderungen",
		"Processor\tProzessor", "% Processor Time\tProzessorzeit (%)")
	write(v2File, "HTTP Service Request Queues")
	list := func(name string) []string {
		b, err := os.ReadFile(filepath.Join("..", "source", "pdh", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	}
	ios, out, _ := iostreams.Test()
	fac := NewFactory(ios)
	fac.PerfNames = func() (*pdh.Names, error) {
		// As LoadNames on a German Windows: the Perflib lists (recorded;
		// Wine's are synthesized) and the counter sets, asked of the
		// stand-in (Wine's advapi32 has no PerfEnumerateCounterSet).
		n := pdh.NewNames(list("perflib_009.txt"), list("perflib_007.txt"))
		sets, err := pdh.CounterSetsFrom(stub)
		n.AddCounterSets(sets)
		return n, err
	}
	root := NewRootCmd(fac)
	root.SetArgs([]string{"counters", "warteschlange"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	spec := `pdh:\HTTP Service Request Queues(*)\CurrentQueueSize`
	if !strings.Contains(got, spec+"\tinstances: Shop") || !strings.Contains(got, `pdh:\HTTP Service Request Queues(*)\RejectedRequests`) ||
		strings.Contains(got, "Warteschlange") || strings.Contains(got, "Anforderungen") {
		t.Fatalf("want %s (English), got:\n%s", spec, got)
	}
	parsed, err := source.ParseSpec(strings.Replace(spec, "(*)", "(Shop)", 1))
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.New(parsed, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := src.Read(context.Background()); err != nil || v != 2 {
		t.Errorf("reading the printed spec: %v, %v", v, err)
	}
}

// Object, counter and instance names come from whatever providers are
// installed (a manifest-based provider names its instances as it likes):
// none drives the terminal.
func TestCountersEscapesProviderNames(t *testing.T) {
	if windows.NewLazySystemDLL("pdh.dll").NewProc("PdhStubLoaded").Find() != nil {
		t.Skip("pdh.dll is not the test stand-in (scripts/wine/setup.sh installs it under Wine)")
	}
	file := filepath.Join(testutil.TempDir(t), "counters.txt")
	t.Setenv("PDHSTUB_FILE", file)
	lines := []string{
		"\\W3SVC_W3WP(1234_Sh\x1b[2Jop)\\Active Requests 3",
		"\\Evil\x1b]0;title\x07Provider(inst\x1b[31m)\\Req\u009bCounter 1",
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, out, _ := iostreams.Test()
	root := NewRootCmd(NewFactory(ios))
	root.SetArgs([]string{"counters"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.ContainsAny(got, "\x1b\x07\u009b") {
		t.Fatalf("a control character reached the output:\n%q", got)
	}
	if !strings.Contains(got, "Active Requests") || !strings.Contains(got, "iis:Sh") || !strings.Contains(got, "Provider") {
		t.Fatalf("lines missing:\n%q", got)
	}
}

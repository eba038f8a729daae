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

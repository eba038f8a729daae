package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/drain-cli/drain/internal/iostreams"
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
	root := NewRootCmd(ios)
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

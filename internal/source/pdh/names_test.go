package pdh

import (
	"os"
	"strings"
	"testing"
)

func readList(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// The German names of the base counters map to the English ones
// PdhAddEnglishCounter takes (recorded Perflib lists, testdata/README.md).
func TestNamesGermanToEnglish(t *testing.T) {
	n := NewNames(readList(t, "perflib_009.txt"), readList(t, "perflib_007.txt"))
	for local, want := range map[string]string{
		"Prozessor":         "Processor",
		"Prozessorzeit (%)": "% Processor Time",
		"prozess":           "Process",
		"Prozesskennung":    "ID Process",
		"Speicher":          "Memory",
		"Verfügbare MB":     "Available MBytes",
		"System":            "System",
		"W3SVC_W3WP":        "W3SVC_W3WP", // not translated: itself
	} {
		if got := n.English(local); got != want {
			t.Errorf("English(%q) = %q, want %q", local, got, want)
		}
	}
	var none *Names
	if none.English("Prozessor") != "Prozessor" {
		t.Error("a nil Names must map names to themselves")
	}
}

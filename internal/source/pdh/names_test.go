package pdh

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
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

// stringBlock builds a PERF_STRING_BUFFER_HEADER block as
// PerfQueryCounterSetRegistrationInfo returns it.
func stringBlock(names map[uint32]string, ids ...uint32) []byte {
	b := make([]byte, 8+8*len(ids))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(ids)))
	for i, id := range ids {
		binary.LittleEndian.PutUint32(b[8+8*i:], id)
		s, ok := names[id]
		if !ok {
			binary.LittleEndian.PutUint32(b[12+8*i:], 0xFFFFFFFF)
			continue
		}
		binary.LittleEndian.PutUint32(b[12+8*i:], uint32(len(b)))
		for _, u := range utf16.Encode([]rune(s)) {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		b = append(b, 0, 0)
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

func TestParseCounterStrings(t *testing.T) {
	b := stringBlock(map[uint32]string{1: "Aktuelle Warteschlangengröße", 3: "Abgelehnte Anforderungen"}, 1, 2, 3)
	got, err := ParseCounterStrings(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != "Aktuelle Warteschlangengröße" || got[3] != "Abgelehnte Anforderungen" {
		t.Fatalf("got %v", got)
	}
	// What does not hold together is refused, never read past its end.
	short := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(short, uint32(len(b)+2)) // size beyond the buffer
	outside := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(outside[12:], uint32(len(b))) // offset at the end
	many := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(many[4:], 1<<30) // more headers than bytes
	noNUL := stringBlock(map[uint32]string{1: "x"}, 1)
	noNUL = noNUL[:len(noNUL)-2]
	binary.LittleEndian.PutUint32(noNUL, uint32(len(noNUL)))
	for name, bad := range map[string][]byte{"size": short, "offset": outside, "count": many, "no NUL": noNUL, "empty": nil} {
		if m, err := ParseCounterStrings(bad); err == nil {
			t.Errorf("%s: got %v, want an error", name, m)
		}
	}
}

// A manifest-based counter set's counters map within that set; the Perflib
// lists keep their own objects, and what neither knows stays as it is.
func TestNamesCounterSets(t *testing.T) {
	n := NewNames(readList(t, "perflib_009.txt"), readList(t, "perflib_007.txt"))
	n.AddCounterSets([]CounterSet{{
		English: "HTTP Service Request Queues",
		Local:   []string{"HTTP-Dienstanforderungswarteschlangen", "HTTP Service Request Queues"},
		Counters: map[string]string{
			"aktuelle warteschlangengröße": "CurrentQueueSize",
			"currentqueuesize":             "CurrentQueueSize",
		},
	}})
	for _, c := range []struct{ obj, counter, wantObj, wantCounter string }{
		{"HTTP-Dienstanforderungswarteschlangen", "Aktuelle Warteschlangengröße", "HTTP Service Request Queues", "CurrentQueueSize"},
		{"http-dienstanforderungswarteschlangen", "AKTUELLE Warteschlangengröße", "HTTP Service Request Queues", "CurrentQueueSize"},
		{"HTTP Service Request Queues", "CurrentQueueSize", "HTTP Service Request Queues", "CurrentQueueSize"},
		{"Prozessor", "Prozessorzeit (%)", "Processor", "% Processor Time"},
		{"W3SVC_W3WP", "Active Requests", "W3SVC_W3WP", "Active Requests"},
	} {
		if got := n.English(c.obj); got != c.wantObj {
			t.Errorf("English(%q) = %q, want %q", c.obj, got, c.wantObj)
		}
		if got := n.Counter(c.obj, c.counter); got != c.wantCounter {
			t.Errorf("Counter(%q, %q) = %q, want %q", c.obj, c.counter, got, c.wantCounter)
		}
	}
	var none *Names
	if none.Counter("a", "b") != "b" || none.English("a") != "a" {
		t.Error("a nil Names maps every name to itself")
	}
}

package winps

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	// powershell.exe -? documents -EncodedCommand with this example:
	// [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('dir "c:\program files" '))
	if got := Encode(`dir "c:\program files" `); got != "ZABpAHIAIAAiAGMAOgBcAHAAcgBvAGcAcgBhAG0AIABmAGkAbABlAHMAIgAgAA==" {
		t.Errorf("encode: %s", got)
	}
	for _, s := range []string{"", "Größe 🙂 $env:X", ARRScript, NLBScript} {
		got, err := Decode(Encode(s))
		if err != nil || got != s {
			t.Errorf("round trip %q: %q %v", s, got, err)
		}
	}
	if _, err := Decode(base64.StdEncoding.EncodeToString([]byte{1, 2, 3})); err == nil {
		t.Error("odd length accepted")
	}
}

func TestFirstLine(t *testing.T) {
	for in, want := range map[string]string{
		"#< CLIXML\r\n<Objs Version=\"1.1.0.1\"><Obj S=\"progress\"/></Objs>\r\nAccess is denied.\r\n": "Access is denied.",
		"\n\n  boom  \nsecond": "boom",
		"":                     "",
	} {
		if got := firstLine(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// ConvertTo-Json writes a one-element array as the element itself in some
// positions (pipeline input); null for none.
func TestOneOrMany(t *testing.T) {
	for in, want := range map[string]int{`[{"name":"a"},{"name":"b"}]`: 2, `{"name":"a"}`: 1, `null`: 0, `[]`: 0} {
		var v oneOrMany[NLBNode]
		if err := json.Unmarshal([]byte(in), &v); err != nil || len(v) != want {
			t.Errorf("%s: %d %v", in, len(v), err)
		}
	}
	var v oneOrMany[NLBNode]
	if err := json.Unmarshal([]byte(`"x"`), &v); err == nil {
		t.Error("a string accepted")
	}
}

func TestNLBStateWord(t *testing.T) {
	for in, want := range map[string]string{
		"Converged(default)": NLBConverged, "Converged": NLBConverged, "Converging": NLBConverging,
		"Draining": NLBDraining, "Stopped": NLBStopped, "Suspended": NLBSuspended, "Misconfigured": NLBUnknown,
	} {
		if got := NLBStateWord(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

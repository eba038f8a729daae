package winps

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
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

// drain runs elevated: Windows PowerShell is run by its full path, never
// found through PATH, where a user-writable directory could plant one.
func TestExeNotFromPATH(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "powershell.exe"), []byte("planted"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DRAIN_POWERSHELL", "")
	if runtime.GOOS != "windows" {
		// The types refuse to run here; tests name the stand-in.
		if got := Exe(); got != "powershell.exe" {
			t.Errorf("%s", got)
		}
		return
	}
	t.Setenv("SystemRoot", `C:\Windows`)
	if got, want := Exe(), `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`; got != want {
		t.Errorf("Exe() = %s, want %s", got, want)
	}
	t.Setenv("SystemRoot", `relative\dir`)
	if got, want := Exe(), `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`; got != want {
		t.Errorf("a relative SystemRoot: Exe() = %s, want %s", got, want)
	}
	t.Setenv("DRAIN_POWERSHELL", `D:\pwsh\pwsh.exe`)
	if got := Exe(); got != `D:\pwsh\pwsh.exe` {
		t.Errorf("DRAIN_POWERSHELL: %s", got)
	}
}

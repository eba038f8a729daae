package action

import (
	"errors"
	"testing"
)

// TestStringRedactsURLUserInfo: the action's command line is shown in
// events and the audit log; a URL with credentials in it is not.
func TestStringRedactsURLUserInfo(t *testing.T) {
	e := &Exec{Argv: []string{"curl", "-X", "POST", "https://deploy:s3 cr@t@ci.example/hook", "plain arg"}}
	want := `curl -X POST "https://xxxxx@ci.example/hook" "plain arg"`
	if got := e.String(); got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
}

func TestShellLine(t *testing.T) {
	cases := []struct {
		argv    []string
		windows bool
		want    string // "" means refused
	}{
		{[]string{`systemctl stop app && echo "a  b"`}, false, `systemctl stop app && echo "a  b"`},
		{[]string{"systemctl", "stop", "my-app.service"}, false, "systemctl stop my-app.service"},
		{[]string{"echo", "a  b"}, false, ""},
		{[]string{"echo", "it's"}, false, ""},
		{[]string{"stop", "&&", "start"}, false, ""},
		{[]string{"echo", "$HOME"}, false, ""},
		{[]string{"rm", "*.log"}, false, ""},
		{[]string{"echo", ""}, false, ""},
		{[]string{"echo", "100%"}, false, "echo 100%"},
		{[]string{"echo", "100%"}, true, ""},
		{[]string{`C:\tools\stop.exe`, "/pool:My"}, true, `C:\tools\stop.exe /pool:My`},
		{[]string{`C:\tools\stop.exe`, "/pool:My"}, false, ""},
	}
	for _, c := range cases {
		got, err := shellLine(c.argv, c.windows)
		if c.want == "" {
			if !errors.Is(err, ErrShellLine) {
				t.Errorf("%q (windows %v): got %q, %v; want ErrShellLine", c.argv, c.windows, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q (windows %v): got %q, %v; want %q", c.argv, c.windows, got, err, c.want)
		}
	}
}

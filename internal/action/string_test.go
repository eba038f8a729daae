package action

import "testing"

// TestStringRedactsURLUserInfo: the action's command line is shown in
// events and the audit log; a URL with credentials in it is not.
func TestStringRedactsURLUserInfo(t *testing.T) {
	e := &Exec{Argv: []string{"curl", "-X", "POST", "https://deploy:s3 cr@t@ci.example/hook", "plain arg"}}
	want := `curl -X POST "https://xxxxx@ci.example/hook" "plain arg"`
	if got := e.String(); got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
}

package suggest

import (
	"fmt"
	"strings"
	"testing"
)

// An error about a balancer's members lists a few of them, however many
// the balancer has, and says how many it left out.
func TestSomeIsShort(t *testing.T) {
	if got := Some(nil); got != "none" {
		t.Errorf("Some(nil) = %q", got)
	}
	if got := Some([]string{"a", "b"}); got != "a, b" {
		t.Errorf("Some(a, b) = %q", got)
	}
	var many []string
	for i := range 5000 {
		many = append(many, fmt.Sprintf("web%04d", i))
	}
	got := Some(many)
	if len(got) > 200 || !strings.HasPrefix(got, "web0000, web0001") || !strings.HasSuffix(got, "... and 4988 more") {
		t.Errorf("Some of 5000 names = %q (%d bytes)", got, len(got))
	}
}

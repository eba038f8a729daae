package suggest

import (
	"slices"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"settle", "setle", 1}, {"settle", "settle", 0}, {"kitten", "sitting", 3}, {"", "abc", 3}} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestSimilar(t *testing.T) {
	names := []string{"http_requests_in_flight", "http_requests_total", "go_goroutines", "in_flight"}
	got := Similar("http_request_in_flight", names, 3)
	if !slices.Equal(got, []string{"http_requests_in_flight"}) {
		t.Errorf("Similar = %q", got)
	}
	if got := Similar("flight", names, 3); !slices.Equal(got, []string{"in_flight", "http_requests_in_flight"}) {
		t.Errorf("substring matches = %q", got)
	}
	if got := Similar("zzz", names, 3); len(got) != 0 {
		t.Errorf("nothing close: %q", got)
	}
}

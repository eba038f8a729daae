package source

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAuthorizationNotSentToAnotherHost: credentials go to the source's host,
// and a redirect to another host does not carry them along.
func TestAuthorizationNotSentToAnotherHost(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen["other"] = r.Header.Get("Authorization")
		mu.Unlock()
		fmt.Fprintln(w, "x 0")
	}))
	defer other.Close()
	// Same port scheme, other host name: localhost instead of 127.0.0.1.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen["first"] = r.Header.Get("Authorization")
		mu.Unlock()
		http.Redirect(w, r, otherURL+"/metrics", http.StatusFound)
	}))
	defer first.Close()

	spec, err := ParseSpec("prom:" + first.URL + "/metrics#x")
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(spec, Options{ReadTimeout: 2 * time.Second, Authorization: "Bearer tok"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := src.Read(context.Background()); err != nil || v != 0 {
		t.Fatalf("read = %v, %v", v, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["first"] != "Bearer tok" {
		t.Errorf("source host got Authorization %q, want the token", seen["first"])
	}
	if seen["other"] != "" {
		t.Errorf("redirect target on another host got Authorization %q", seen["other"])
	}
}

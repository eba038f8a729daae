package rotation

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
)

// Two instances of a 3000-server backend that do not list the same
// servers: a server one of them lacks is out of rotation, said where; the
// sessions of the others add up (the name-to-member matching, at size).
func TestHAProxyPoolTwoInstancesAtSize(t *testing.T) {
	const n = 3000
	var names1, names2 []string
	for i := 1; i <= n; i++ {
		s := fmt.Sprintf("web/s%d", i)
		if i != 1500 {
			names1 = append(names1, s)
		}
		if i != 2999 {
			names2 = append(names2, s)
		}
	}
	lb1, lb2 := haproxytest.New(t, names1...), haproxytest.New(t, names2...)
	lb1.Set("web/s3000", haproxytest.Server{Scur: 2})
	lb2.Set("web/s3000", haproxytest.Server{Scur: 5, Qcur: 1})
	h := newHA(t, lb1.Addr+"#web/s1", lb2.Addr+"#web/s1")
	p, err := h.Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Members) != n {
		t.Fatalf("%d members, want %d", len(p.Members), n)
	}
	out := 0
	for _, m := range p.Members {
		switch m.Name {
		case "s1500":
			if m.InRotation || !strings.Contains(m.Detail, "absent on "+lb1.Addr) {
				t.Errorf("s1500, absent on the first: %+v", m)
			}
		case "s2999":
			if m.InRotation || !strings.Contains(m.Detail, "absent on "+lb2.Addr) {
				t.Errorf("s2999, absent on the second: %+v", m)
			}
		case "s3000":
			if m.Sessions == nil || *m.Sessions != 7 || m.Queue == nil || *m.Queue != 1 {
				t.Errorf("s3000's sessions and queue not added up: %+v", m)
			}
		}
		if !m.InRotation {
			out++
		}
		if m.Self != (m.Name == "s1") {
			t.Errorf("%s: Self %v", m.Name, m.Self)
		}
	}
	if out != 2 {
		t.Errorf("%d out of rotation, want 2", out)
	}
}

func TestCSVFields(t *testing.T) {
	got := make([]string, 3)
	if n := csvFields("web,a,,UP,7", []int{0, 3, 1}, got); n != 4 || got[0] != "web" || got[1] != "UP" || got[2] != "a" {
		t.Errorf("%d %q", n, got)
	}
	if n := csvFields("web,a", []int{0, 3, 1}, got); n != 2 || got[0] != "web" || got[1] != "" || got[2] != "a" {
		t.Errorf("short line: %d %q", n, got)
	}
}

// TestSpaceFields: the fields strings.Fields would give at those indexes.
func TestSpaceFields(t *testing.T) {
	for _, line := range []string{
		"3 web 1 s1 127.0.0.1 2 0 1 1 4 15 3 2 0 6 0 0 0 - 8080 -",
		"  3  web\t1 s1   127.0.0.1 2 0 1\r",
		"3 web",
		"",
	} {
		want := []int{1, 3, 0, 19, -1, 7}
		got := make([]string, len(want))
		n := spaceFields(line, want, got)
		all := strings.Fields(line)
		for j, w := range want {
			exp := ""
			if w >= 0 && w < len(all) {
				exp = all[w]
			}
			if got[j] != exp {
				t.Errorf("%q: field %d = %q, want %q", line, w, got[j], exp)
			}
		}
		if exp := min(len(all), 20); n != exp {
			t.Errorf("%q: went through %d fields, want %d", line, n, exp)
		}
	}
}

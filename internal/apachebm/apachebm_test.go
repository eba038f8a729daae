package apachebm

import (
	"strings"
	"testing"
)

// page is a balancer-manager page as Apache 2.4.71 (Debian) serves it, cut
// to the parts drain reads.
const page = `<html><head><title>Balancer Manager</title></head>
<body><h1>Load Balancer Manager for 127.0.0.1</h1>
<h3>LoadBalancer Status for <a href="/balancer-manager?b=web&amp;nonce=98fe8dfd-6d47">balancer://web</a> [pc09dfdc3_web]</h3>
<table><tr><th>MaxMembers</th><th>StickySession</th></tr>
<tr><td>2 [2 Used]</td><td> (None) </td></tr>
</table>
<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th><th>Set</th><th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th></tr>
<tr>
<td><a href="/balancer-manager?b=web&amp;w=http://127.0.0.1:9001&amp;nonce=98fe8dfd-6d47">http://127.0.0.1:9001</a></td><td>r1</td><td></td><td>1.00</td><td>0</td><td>Init Drn Ok </td><td>12</td><td>3</td><td>0</td><td>  0 </td><td>  0 </td></tr>
<tr>
<td><a href="/balancer-manager?b=web&amp;w=http://127.0.0.1:9002&amp;nonce=98fe8dfd-6d47">http://127.0.0.1:9002</a></td><td></td><td></td><td>1.00</td><td>0</td><td>Init Stby Ok </td><td>0</td><td>0</td><td>0</td><td>  0 </td><td>  0 </td></tr>
</table>
<h3>LoadBalancer Status for <a href="/balancer-manager?b=api&amp;nonce=aaaa">balancer://api</a></h3>
<table><tr><th>Worker URL</th><th>Status</th></tr>
<tr><td>http://10.0.0.9:80</td><td>Init Err</td></tr></table>
</body></html>`

func TestParse(t *testing.T) {
	bs, err := Parse([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].Name != "web" || bs[0].Nonce != "98fe8dfd-6d47" || bs[1].Name != "api" || bs[1].Nonce != "aaaa" {
		t.Fatalf("%+v", bs)
	}
	w, ok := bs[0].Worker("HTTP://127.0.0.1:9001/")
	if !ok || w.Route != "r1" || !w.Has("Drn") || w.Has("Dis") || w.Busy == nil || *w.Busy != 3 || w.Elected == nil || *w.Elected != 12 {
		t.Fatalf("%+v", w)
	}
	if w := bs[1].Workers[0]; w.Busy != nil || w.Elected != nil || !w.Has("Err") {
		t.Errorf("no Busy column: %+v", w)
	}
	if _, err := Parse([]byte("<html><h1>It works!</h1></html>")); err == nil || !strings.Contains(err.Error(), "not an Apache balancer-manager page") {
		t.Errorf("other page: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(page)
	f.Add("<h3>balancer://x</h3><table><tr><th>Worker URL</th><th>Busy</th></tr><tr><td>u</td><td>-1</td></tr></table>")
	f.Fuzz(func(t *testing.T, s string) {
		bs, err := Parse([]byte(s))
		if err != nil {
			return
		}
		for _, b := range bs {
			for _, w := range b.Workers {
				if w.Busy != nil && !(*w.Busy >= 0) {
					t.Fatalf("Busy %v is not a count", *w.Busy)
				}
			}
		}
	})
}

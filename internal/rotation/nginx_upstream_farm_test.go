package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/drain-cli/drain/internal/nginxlbtest"
)

// Several servers of one upstream file, several drains at once: the file
// is one shared thing (issue 23, items 5 to 8).

// sixPool is a real nginx whose upstream file has six real backends.
func sixPool(t *testing.T) (*nginxlbtest.LB, []string, string) {
	t.Helper()
	var addrs []string
	var pool strings.Builder
	pool.WriteString("# six servers\n")
	for i := range 6 {
		a := hostOf(newCountingBackend(t).URL)
		addrs = append(addrs, a)
		fmt.Fprintf(&pool, "server %s weight=%d; # s%d\n", a, i+1, i)
	}
	return nginxlbtest.Start(t, pool.String()), addrs, pool.String()
}

// downIn says which of addrs have `down` in the file.
func downIn(t *testing.T, file string, addrs []string) []bool {
	t.Helper()
	b, err := os.ReadFile(file)
	noErr(t, err)
	all, err := parseUpstreams(b)
	noErr(t, err)
	out := make([]bool, len(addrs))
	for i, a := range addrs {
		for _, s := range all {
			if s.addr == a {
				_, out[i] = s.down()
			}
		}
	}
	return out
}

// TestNginxUpstreamConcurrentChangesKeepEveryOne: outs and ins of six
// servers of one upstream file at once, against a real nginx (each test and
// reload real): every change is kept, none fails, and the ins give back the
// file's exact bytes.
func TestNginxUpstreamConcurrentChangesKeepEveryOne(t *testing.T) {
	lb, addrs, orig := sixPool(t)
	ctx := context.Background()
	methods := make([]*NginxUpstream, len(addrs))
	for i, a := range addrs {
		methods[i] = newUpstream(t, lb.Upstream+"#"+a, Options{Settings: lbSettings(lb)})
	}
	undo := make([][]byte, len(addrs))
	// each runs f(i) for the servers in which, all at once, and fails on any
	// error or a change not made.
	each := func(what string, which []int, f func(i int) (bool, error)) {
		t.Helper()
		start := make(chan struct{})
		errs := make([]error, len(addrs))
		var wg sync.WaitGroup
		for _, i := range which {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				changed, err := f(i)
				if err == nil && !changed {
					err = errors.New("reported no change")
				}
				errs[i] = err
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("%s %s: %v", what, addrs[i], err)
			}
		}
	}
	out := func(i int) (bool, error) {
		return methods[i].Out(ctx, func(u any) (err error) { undo[i], err = json.Marshal(u); return err })
	}
	in := func(i int) (bool, error) { return methods[i].In(ctx, undo[i]) }
	all, first, second := []int{0, 1, 2, 3, 4, 5}, []int{0, 1, 2}, []int{3, 4, 5}
	for round := range 3 {
		each("out", all, out)
		if got := downIn(t, lb.Upstream, addrs); fmt.Sprint(got) != "[true true true true true true]" {
			b, _ := os.ReadFile(lb.Upstream)
			t.Fatalf("round %d: after six outs at once, down: %v\n%s", round, got, b)
		}
		each("in", all, in)
		if b, _ := os.ReadFile(lb.Upstream); string(b) != orig {
			t.Fatalf("round %d: after six ins at once:\n%s\nwant the original:\n%s", round, b, orig)
		}
	}
	// Half go back in while the other half go out.
	each("out", first, out)
	each("in/out", all, func(i int) (bool, error) {
		if i < 3 {
			return in(i)
		}
		return out(i)
	})
	if got := downIn(t, lb.Upstream, addrs); fmt.Sprint(got) != "[false false false true true true]" {
		t.Fatalf("after three ins and three outs at once, down: %v", got)
	}
	each("in", second, in)
	if b, _ := os.ReadFile(lb.Upstream); string(b) != orig {
		t.Fatalf("at the end:\n%s\nwant the original:\n%s", b, orig)
	}
}

// lineDown is orig with `down` on the lines of the given servers.
func lineDown(t *testing.T, orig string, addrs ...string) string {
	t.Helper()
	all, err := parseUpstreams([]byte(orig))
	noErr(t, err)
	var sel []upstreamServer
	for _, s := range all {
		for _, a := range addrs {
			if normUpstreamAddr(s.addr) == normUpstreamAddr(a) {
				sel = append(sel, s)
			}
		}
	}
	return string(markDown([]byte(orig), sel))
}

// TestNginxUpstreamTwoServersDoNotUndoEachOther: out A, out B, in A puts
// A back and leaves B out (the README's recipe keeps a pool in one file);
// an edit of A's own line is refused, and --force-restore then removes
// only A's `down`, never B's.
func TestNginxUpstreamTwoServersDoNotUndoEachOther(t *testing.T) {
	a, b := newCountingBackend(t), newCountingBackend(t)
	lb := startNginxLB(t, hostOf(a.URL), hostOf(b.URL))
	origB, _ := os.ReadFile(lb.Upstream)
	orig := string(origB)
	ctx := context.Background()
	st := lbSettings(lb)
	ma := newUpstream(t, lb.Upstream+"#"+hostOf(a.URL), Options{Settings: st})
	mb := newUpstream(t, lb.Upstream+"#"+hostOf(b.URL), Options{Settings: st})
	save := func(dst *[]byte) func(any) error {
		return func(u any) (err error) { *dst, err = json.Marshal(u); return err }
	}
	var ua, ub []byte
	for _, step := range []func() (bool, error){
		func() (bool, error) { return ma.Out(ctx, save(&ua)) },
		func() (bool, error) { return mb.Out(ctx, save(&ub)) },
		func() (bool, error) { return ma.In(ctx, ua) },
	} {
		if changed, err := step(); err != nil || !changed {
			t.Fatalf("changed %v, %v", changed, err)
		}
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != lineDown(t, orig, hostOf(b.URL)) {
		t.Fatalf("out A, out B, in A:\n%s\nwant B still down:\n%s", got, lineDown(t, orig, hostOf(b.URL)))
	}
	if s, _ := mb.Status(ctx); s != Out {
		t.Errorf("B after in A: %s", s)
	}
	if changed, err := mb.In(ctx, ub); err != nil || !changed {
		t.Fatalf("in B: %v %v", changed, err)
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != orig {
		t.Fatalf("after in B:\n%s\nwant the original", got)
	}

	// A's own line edited since out: refused, nothing touched.
	for _, step := range []func() (bool, error){
		func() (bool, error) { return ma.Out(ctx, save(&ua)) },
		func() (bool, error) { return mb.Out(ctx, save(&ub)) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	both, _ := os.ReadFile(lb.Upstream)
	edited := strings.Replace(string(both), "weight=2 down;", "weight=5 down;", 1)
	if edited == string(both) {
		t.Fatalf("A's line not found in:\n%s", both)
	}
	noErr(t, os.WriteFile(lb.Upstream, []byte(edited), 0o640))
	if _, err := ma.In(ctx, ua); !errors.Is(err, ErrUpstreamChanged) || !strings.Contains(err.Error(), "--force-restore") {
		t.Fatalf("in A after its line was edited: %v", err)
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != edited {
		t.Errorf("refused in touched the file:\n%s", got)
	}
	force := newUpstream(t, lb.Upstream+"#"+hostOf(a.URL), Options{Settings: st, ForceRestore: true})
	if changed, err := force.In(ctx, ua); err != nil || !changed {
		t.Fatalf("in A --force-restore: %v %v", changed, err)
	}
	want := strings.Replace(edited, "weight=5 down;", "weight=5;", 1)
	if got, _ := os.ReadFile(lb.Upstream); string(got) != want {
		t.Fatalf("in A --force-restore:\n%s\nwant only A's down removed (B still down):\n%s", got, want)
	}
	if s, _ := mb.Status(ctx); s != Out {
		t.Errorf("B after in A --force-restore: %s", s)
	}
}

// oldUndo is the undo data of the previous release: the whole file's bytes
// before out and a digest of what out wrote.
func oldUndo(t *testing.T, file string, original, wrote []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"file": file, "original": original, "wrote": digest(wrote), "mode": 0o640})
	noErr(t, err)
	return b
}

// TestNginxUpstreamOldRecords: a record of the previous release (the
// file's original bytes) is undone safely: the original back when the file
// is as out left it, else an edit of this server's lines only; its path
// and bytes (a shared directory: untrusted) never name the file written
// nor what is written.
func TestNginxUpstreamOldRecords(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "up.conf")
	orig := "# pool\nserver 10.0.0.5:8080 weight=2;  # a\nserver 10.0.0.6:8080;\nserver 10.0.0.7:8080 down; # by hand\n"
	aDown := lineDown(t, orig, "10.0.0.5:8080")
	abDown := lineDown(t, orig, "10.0.0.5:8080", "10.0.0.6:8080")
	ok := map[string]any{"test": okCmd(), "reload": okCmd()}
	ctx := context.Background()
	m := newUpstream(t, f+"#10.0.0.5:8080", Options{Settings: ok})
	other := filepath.Join(dir, "other.conf")
	noErr(t, os.WriteFile(other, []byte("keep\n"), 0o600))
	for _, tc := range []struct {
		name, file string // the file as it is at in
		undo       []byte
		want       string
	}{
		{"unchanged since out", aDown, oldUndo(t, f, []byte(orig), []byte(aDown)), orig},
		{"B out since", abDown, oldUndo(t, f, []byte(orig), []byte(aDown)), lineDown(t, orig, "10.0.0.6:8080")},
		{"record names another file", aDown, oldUndo(t, other, []byte(orig), []byte(aDown)), orig},
		// Bytes out could not have written for this file, with the digest
		// of what the file holds: never written; A's line differs, so the
		// in is refused and nothing changes.
		{"record's bytes not this file's", aDown, oldUndo(t, f, []byte("upstream evil { server 10.0.0.5:8080; server 6.6.6.6:80; }\n"), []byte(aDown)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noErr(t, os.WriteFile(f, []byte(tc.file), 0o640))
			changed, err := m.In(ctx, tc.undo)
			if tc.want == "" {
				if !errors.Is(err, ErrUpstreamChanged) {
					t.Errorf("in: %v, want refused", err)
				}
				tc.want = tc.file
			} else if err != nil || !changed {
				t.Fatalf("in: %v %v", changed, err)
			}
			if got, _ := os.ReadFile(f); string(got) != tc.want {
				t.Errorf("file after in:\n%s\nwant:\n%s", got, tc.want)
			}
			if got, _ := os.ReadFile(other); string(got) != "keep\n" {
				t.Errorf("the record's path was written: %q", got)
			}
		})
	}
}

// TestNginxUpstreamServerInTwoUpstreams: a server in two upstreams of the
// file leaves both, so the pool the budget reads is the one it leaves
// with the fewest others in rotation.
func TestNginxUpstreamServerInTwoUpstreams(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "up.conf")
	ctx := context.Background()
	others := func(p Pool) (n int, self bool) {
		for _, m := range p.Members {
			if m.Self {
				self = m.InRotation
			} else if m.InRotation {
				n++
			}
		}
		return n, self
	}
	for _, tc := range []struct {
		name, file, want string
		others           int
		selfIn           bool
	}{
		{"second is tighter", "upstream web { server a:80; server b:80; server c:80; }\nupstream api { server a:80; server b:80 down; }\n", "api", 0, true},
		{"first is tighter", "upstream api { server a:80; server b:80 backup; }\nupstream web { server a:80; server b:80; server c:80; }\n", "api", 0, true},
		{"a backup in the tighter one", "upstream api { server a:80 backup; }\nupstream web { server a:80; server b:80; }\n", "web", 1, true},
		{"one upstream", "upstream web { server a:80; server b:80; }\nupstream api { server c:80; }\n", "web", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noErr(t, os.WriteFile(f, []byte(tc.file), 0o644))
			m := newUpstream(t, f+"#a:80", Options{})
			p, err := m.Pool(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n, self := others(p)
			if !strings.HasPrefix(p.Name, tc.want) || n != tc.others || self != tc.selfIn {
				t.Errorf("pool %q: %d others in rotation, self in %v; want %q, %d, %v: %+v", p.Name, n, self, tc.want, tc.others, tc.selfIn, p.Members)
			}
		})
	}
	// Top-level server lines beside upstream blocks: where the file is
	// included cannot be known.
	noErr(t, os.WriteFile(f, []byte("server a:80;\nupstream api { server a:80; }\n"), 0o644))
	if _, err := newUpstream(t, f+"#a:80", Options{}).Pool(ctx); !errors.Is(err, ErrConfig) {
		t.Errorf("mixed file: %v", err)
	}
}

// TestNginxUpstreamPoolID: every server of one upstream file names the same
// pool (its locks), whatever spelling of the file; another file, another.
func TestNginxUpstreamPoolID(t *testing.T) {
	dir := t.TempDir()
	f, g := filepath.Join(dir, "up.conf"), filepath.Join(dir, "other.conf")
	noErr(t, os.WriteFile(f, []byte("upstream web { server a:80; server b:80; }\nupstream api { server c:80; }\n"), 0o644))
	noErr(t, os.WriteFile(g, []byte("server a:80;\n"), 0o644))
	spellings := []string{f + "#b:80", f + "#c:80", dir + string(filepath.Separator) + "." + string(filepath.Separator) + "up.conf#A"}
	if runtime.GOOS != "windows" {
		// Wine's CreateSymbolicLinkW reports success without making a link
		// the file APIs follow: the symlink spelling is proven on Unix.
		noErr(t, os.Symlink(f, filepath.Join(dir, "link.conf")))
		spellings = append(spellings, filepath.Join(dir, "link.conf")+"#A")
	}
	id := func(target string) string {
		m := newUpstream(t, target, Options{})
		pi, ok := any(m).(interface{ PoolID() string })
		if !ok {
			t.Fatal("nginx-upstream has no PoolID")
		}
		return pi.PoolID()
	}
	a := id(f + "#a:80")
	for _, other := range spellings {
		if got := id(other); got != a {
			t.Errorf("%s: pool %q, want %q (one file, one pool lock)", other, got, a)
		}
	}
	if got := id(g + "#a:80"); got == a {
		t.Errorf("another file, same pool ID %q", got)
	}
	if !strings.HasPrefix(a, "nginx-upstream:") || !strings.Contains(a, "up.conf") {
		t.Errorf("pool ID %q does not name the file", a)
	}
}

// TestNginxUpstreamPoolTarget: status --pool nginx-upstream:FILE[#NAME]
// shows any upstream of the file, each server with its record key, under
// the pool ID the budget locks; FILE#SERVER is that server's budget pool.
func TestNginxUpstreamPoolTarget(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "up.conf")
	noErr(t, os.WriteFile(f, []byte("upstream web { server a:80; server B:80 weight=2; }\nupstream api { server a:80; server b:80 down; }\n"), 0o644))
	ctx := context.Background()
	names := func(p Pool) string {
		var s []string
		for _, m := range p.Members {
			w := m.Name
			if m.Self {
				w += "*"
			}
			if !m.InRotation {
				w += "-"
			}
			s = append(s, w)
		}
		return p.Name + ": " + strings.Join(s, " ")
	}
	for _, tc := range []struct{ target, want string }{
		{f + "#web", "web: a:80 B:80"},
		{f + "#api", "api: a:80 b:80-"},
		{f + "#a:80", "api (the tightest of the upstreams a:80 has in up.conf: web, api): a:80* b:80-"},
	} {
		v, err := NewPool("nginx-upstream:"+tc.target, Options{})
		noErr(t, err)
		p, err := v.Pool(ctx)
		if err != nil || names(p) != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.target, names(p), err, tc.want)
		}
		if got := v.(interface{ PoolID() string }).PoolID(); got != newUpstream(t, f+"#a:80", Options{}).PoolID() {
			t.Errorf("%s: pool ID %q is not the budget's", tc.target, got)
		}
		if key, m := v.MemberKey(Member{Name: "B:80", Addr: "B:80"}), newUpstream(t, f+"#b", Options{}); key != Key(m) {
			t.Errorf("%s: member key %q, want the method's %q", tc.target, key, Key(m))
		}
	}
	for _, tc := range []struct{ target, want string }{
		{f, "has the upstreams web, api: name one"},
		{f + "#nope", `no server "nope" in`},
		{filepath.Join(dir, "none.conf"), "not found"},
	} {
		v, err := NewPool("nginx-upstream:"+tc.target, Options{})
		noErr(t, err)
		if _, err := v.Pool(ctx); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.target, err, tc.want)
		}
	}
	if _, err := NewPool("nginx-upstream:"+f+"#", Options{}); !errors.Is(err, ErrConfig) {
		t.Errorf("FILE#: %v", err)
	}
}

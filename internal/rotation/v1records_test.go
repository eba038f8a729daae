package rotation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/haproxy"
	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
	"github.com/drain-cli/drain/internal/state"
)

// v1Root is the directory every path in the fixtures starts with (see
// testdata/v1records/README.md).
const v1Root = "/tmp/drainv1fx/"

// v1Original is the content-mode page's bytes before out (not UTF-8).
const v1Original = "OK\x00\xff\xfe\x80 caf\xe9\r\n"

// v1Scene is where a fixture's record is replayed: a page directory and
// three fake HAProxy runtime APIs standing for lb1..lb3.
type v1Scene struct {
	www   string // the page's directory, resolved
	lbs   map[string]*haproxytest.Fake
	store state.Store
}

func newV1Scene(t *testing.T) *v1Scene {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sc := &v1Scene{www: filepath.Join(dir, "www"), lbs: map[string]*haproxytest.Fake{}, store: state.Store{Dir: filepath.Join(dir, "state")}}
	if err := os.MkdirAll(sc.www, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, lb := range []string{"lb1", "lb2", "lb3"} {
		sc.lbs[lb] = haproxytest.New(t, "web/a", "web/b")
	}
	return sc
}

func (sc *v1Scene) page(name string) string { return filepath.Join(sc.www, name) }

// rewrite gives a string of the fixture this scene's paths and addresses:
// ROOT/SCENE/www/NAME the page directory's NAME, an lb's socket the fake's
// address (as typed, and "unix:PATH" as the key resolved it).
func (sc *v1Scene) rewrite(t *testing.T, s string) string {
	for name, f := range sc.lbs {
		sock := v1Root + name + "/admin.sock"
		a, err := haproxy.ParseAddr(f.Addr)
		if err != nil {
			t.Fatal(err)
		}
		s = strings.ReplaceAll(s, "unix:"+sock, canonicalAddr(a))
		s = strings.ReplaceAll(s, sock, f.Addr)
	}
	for {
		i := strings.Index(s, v1Root)
		if i < 0 {
			return s
		}
		rest := s[i+len(v1Root):]
		j := strings.Index(rest, "/www/")
		if j < 0 {
			t.Fatalf("fixture path %q is not under ROOT/SCENE/www/", s[i:])
		}
		name := rest[j+len("/www/"):]
		end := strings.IndexAny(name, " #,")
		if end < 0 {
			end = len(name)
		}
		s = s[:i] + sc.page(name[:end]) + name[end:]
	}
}

// place writes the fixture, its paths rewritten, where drain v1 kept it: in
// the state directory under the file named for its target. It returns the
// record as JSON after the rewrite.
func (sc *v1Scene) place(t *testing.T, fixture string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v1records", fixture))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["version"]; ok {
		t.Fatalf("%s has a version: not a v1 record", fixture)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			return sc.rewrite(t, v)
		case map[string]any:
			for k, x := range v {
				v[k] = walk(x)
			}
		case []any:
			for i, x := range v {
				v[i] = walk(x)
			}
		}
		return v
	}
	walk(doc)
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(sc.store.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sc.store.File(doc["target"].(string)), out, 0o600); err != nil {
		t.Fatal(err)
	}
	return doc
}

// set builds the methods as drain in / status would from these specs,
// without --disabled-name or --down-content.
func (sc *v1Scene) set(t *testing.T, specs ...string) *Set {
	t.Helper()
	var ms []Method
	for _, s := range specs {
		m, err := NewMethod(sc.rewrite(t, s), Options{Timeout: 5e9})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	s, err := NewSet(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// statusOf reads the record and the rotation state as 'drain status' does.
func statusOf(t *testing.T, sc *v1Scene, s *Set) (*state.Record, Status, error) {
	t.Helper()
	rec, err := LoadRecord(sc.store, s)
	if err != nil {
		t.Fatalf("load record: %v", err)
	}
	s.Adopt(rec)
	st, err := s.Status(ctx)
	return rec, st, err
}

// inAndForget puts the server back as 'drain in' does and checks that no
// record is left.
func inAndForget(t *testing.T, sc *v1Scene, s *Set, rec *state.Record) {
	t.Helper()
	if changed, err := s.In(ctx, rec); err != nil || !changed {
		t.Fatalf("in: changed=%v err=%v", changed, err)
	}
	if err := DeleteRecord(sc.store, s, rec); err != nil {
		t.Fatal(err)
	}
	if again, err := LoadRecord(sc.store, s); again != nil || err != nil {
		t.Errorf("record left after in: %+v %v", again, err)
	}
	files, _ := filepath.Glob(filepath.Join(sc.store.Dir, "*.json"))
	if len(files) != 0 {
		t.Errorf("state files left after in: %v", files)
	}
}

func checkRecord(t *testing.T, rec *state.Record, reason string, phase state.Phase, method string, entries int) {
	t.Helper()
	if rec == nil {
		t.Fatal("no record found")
	}
	if rec.Reason != reason || rec.Phase != phase || rec.Method != method || rec.By != "vm" || rec.PID == 0 || rec.Since.IsZero() || len(rec.Entries) != entries {
		t.Errorf("record %+v; want reason %q, phase %s, method %s, by vm, %d entries", rec, reason, phase, method, entries)
	}
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// A rename record with a custom --disabled-name: status and in, both
// without it, find the page under that name.
func TestV1RecordRenameWithDisabledName(t *testing.T) {
	sc := newV1Scene(t)
	writeFile(t, sc.page("ka-off.htm"), "OK\n", 0o644)
	sc.place(t, "rename.json")
	s := sc.set(t, "keepalive:"+v1Root+"rename/www/keepalive.htm")
	rec, st, err := statusOf(t, sc, s)
	checkRecord(t, rec, "fixture: rename", state.PhaseOut, MethodRename, 1)
	if st != Out || err != nil {
		t.Fatalf("status %s %v, want OUT (the page is under the recorded disabled name)", st, err)
	}
	inAndForget(t, sc, s, rec)
	if b, err := os.ReadFile(sc.page("keepalive.htm")); err != nil || string(b) != "OK\n" {
		t.Errorf("page after in: %q %v", b, err)
	}
	if _, err := os.Stat(sc.page("ka-off.htm")); !os.IsNotExist(err) {
		t.Errorf("disabled name still there after in: %v", err)
	}
}

// A content record whose original page is not UTF-8: in writes back the
// exact bytes, with the page's mode.
func TestV1RecordContentBinaryOriginal(t *testing.T) {
	sc := newV1Scene(t)
	p := sc.page("keepalive.htm")
	writeFile(t, p, "DOWN", 0o640)
	sc.place(t, "content.json")
	s := sc.set(t, "keepalive:"+v1Root+"content/www/keepalive.htm")
	rec, st, err := statusOf(t, sc, s)
	checkRecord(t, rec, "fixture: content", state.PhaseOut, MethodContent, 1)
	if st != Out || err != nil {
		t.Fatalf("status %s %v, want OUT (the page holds what out wrote)", st, err)
	}
	inAndForget(t, sc, s, rec)
	b, err := os.ReadFile(p)
	if err != nil || string(b) != v1Original {
		t.Errorf("page after in: %q %v, want %q", b, err, v1Original)
	}
	if fi, err := os.Stat(p); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o640 {
		t.Errorf("page mode after in %v, want 0640", fi.Mode().Perm())
	}
}

// Three HAProxy instances, one in maint by hand before out: in sets the
// other two ready and leaves that one in maint, and says so.
func TestV1RecordHAProxyThreeInstances(t *testing.T) {
	sc := newV1Scene(t)
	sc.lbs["lb1"].Set("web/a", haproxytest.Server{Admin: 0x08})
	sc.lbs["lb2"].Set("web/a", haproxytest.Server{Admin: 0x01})
	sc.lbs["lb3"].Set("web/a", haproxytest.Server{Admin: 0x08})
	sc.place(t, "haproxy.json")
	lb3 := "unix:" + v1Root + "lb3/admin.sock#web/a"
	if runtime.GOOS == "windows" {
		lb3 = v1Root + "lb3/admin.sock#web/a" // the fakes listen on TCP
	}
	s := sc.set(t, "haproxy:"+v1Root+"lb1/admin.sock#web/a", "haproxy:"+v1Root+"lb2/admin.sock#web/a", "haproxy:"+lb3)
	rec, st, err := statusOf(t, sc, s)
	checkRecord(t, rec, "fixture: haproxy", state.PhaseOut, MethodHAProxy, 3)
	if st != Out || err != nil {
		t.Fatalf("status %s %v, want OUT", st, err)
	}
	for _, e := range rec.Entries {
		if want := !strings.Contains(e.Target, sc.lbs["lb2"].Addr); e.Changed != want {
			t.Errorf("entry %s changed=%v, want %v", e.Key(), e.Changed, want)
		}
	}
	inAndForget(t, sc, s, rec)
	for lb, want := range map[string]int{"lb1": 0, "lb2": 0x01, "lb3": 0} {
		if got := sc.lbs[lb].Get("web/a").Admin; got != want {
			t.Errorf("%s web/a admin %#x after in, want %#x (its state before out)", lb, got, want)
		}
		if got := sc.lbs[lb].Get("web/b").Admin; got != 0 {
			t.Errorf("%s web/b admin %#x: drain touched another server", lb, got)
		}
	}
	notes := s.Notes()
	if len(notes) != 1 || !strings.Contains(notes[0], sc.lbs["lb2"].Addr) || !strings.Contains(notes[0], "already out before out") {
		t.Errorf("notes %q, want lb2 named as left as it was", notes)
	}
}

// The keep-alive page and HAProxy in one record: both are read from it and
// both put back.
func TestV1RecordKeepaliveAndHAProxy(t *testing.T) {
	sc := newV1Scene(t)
	writeFile(t, sc.page("keepalive.htm.disabled"), "OK\n", 0o644)
	sc.lbs["lb1"].Set("web/a", haproxytest.Server{Admin: 0x08})
	sc.place(t, "combined.json")
	s := sc.set(t, "keepalive:"+v1Root+"combined/www/keepalive.htm", "haproxy:"+v1Root+"lb1/admin.sock#web/a")
	rec, st, err := statusOf(t, sc, s)
	checkRecord(t, rec, "fixture: combined", state.PhaseOut, MethodRename, 2)
	if st != Out || err != nil {
		t.Fatalf("status %s %v, want OUT", st, err)
	}
	inAndForget(t, sc, s, rec)
	if _, err := os.Stat(sc.page("keepalive.htm")); err != nil {
		t.Errorf("page not back: %v", err)
	}
	if got := sc.lbs["lb1"].Get("web/a").Admin; got != 0 {
		t.Errorf("lb1 web/a admin %#x after in, want ready", got)
	}
}

// A run killed while waiting: status says phase waiting, in undoes it.
func TestV1RecordLeftWaiting(t *testing.T) {
	sc := newV1Scene(t)
	writeFile(t, sc.page("keepalive.htm.disabled"), "OK\n", 0o644)
	sc.place(t, "waiting.json")
	s := sc.set(t, "keepalive:"+v1Root+"waiting/www/keepalive.htm")
	rec, st, err := statusOf(t, sc, s)
	checkRecord(t, rec, "fixture: waiting", state.PhaseWaiting, MethodRename, 1)
	if st != Out || err != nil {
		t.Fatalf("status %s %v, want OUT", st, err)
	}
	if rec.Command != "run" || rec.Running() {
		t.Errorf("record command %q running=%v, want a run that is gone", rec.Command, rec.Running())
	}
	inAndForget(t, sc, s, rec)
	if _, err := os.Stat(sc.page("keepalive.htm")); err != nil {
		t.Errorf("page not back: %v", err)
	}
}

// A run that carries on a v1 record (drain run over a server already out)
// saves its phases as this release's records, one per method, and removes
// the old file.
func TestV1RecordMovesToPerMethodRecords(t *testing.T) {
	sc := newV1Scene(t)
	writeFile(t, sc.page("keepalive.htm.disabled"), "OK\n", 0o644)
	sc.lbs["lb1"].Set("web/a", haproxytest.Server{Admin: 0x08})
	doc := sc.place(t, "combined.json")
	s := sc.set(t, "keepalive:"+v1Root+"combined/www/keepalive.htm", "haproxy:"+v1Root+"lb1/admin.sock#web/a")
	rec, _, _ := statusOf(t, sc, s)
	rec.Phase = state.PhaseWaiting
	if err := SaveRecord(sc.store, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sc.store.File(doc["target"].(string))); !os.IsNotExist(err) {
		t.Errorf("the v1 file is still there: %v", err)
	}
	for _, m := range s.Methods() {
		r, err := sc.store.Load(Key(m))
		if err != nil || r == nil || r.Version != state.RecordVersion || len(r.Entries) != 1 || r.Phase != state.PhaseWaiting || r.Reason != "fixture: combined" {
			t.Errorf("record of %s: %+v %v", Key(m), r, err)
		}
	}
	again, st, err := statusOf(t, sc, s)
	checkRecord(t, again, "fixture: combined", state.PhaseWaiting, MethodRename, 2)
	if st != Out || err != nil {
		t.Fatalf("status %s %v", st, err)
	}
	inAndForget(t, sc, s, again)
	if got := sc.lbs["lb1"].Get("web/a").Admin; got != 0 {
		t.Errorf("lb1 web/a admin %#x after in, want ready", got)
	}
}

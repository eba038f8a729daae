package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/f5/f5test"
)

// The f5 method runs against f5test, a stand-in written from F5's
// documented iControl REST API (see that package): no BIG-IP runs in CI.

const f5Pass = "s3cr3t-Pa55"

func newF5Stand(t *testing.T) *f5test.Server {
	t.Helper()
	s := f5test.New("admin", f5Pass)
	t.Cleanup(s.Close)
	s.AddPool("/Common/web_pool",
		f5test.Member{Name: "web01:80", Address: "10.0.0.5", Session: "monitor-enabled", State: "up"},
		f5test.Member{Name: "web02:80", Address: "10.0.0.6%2", Session: "monitor-enabled", State: "down"},
		f5test.Member{Name: "web03:80", Address: "10.0.0.7", Session: "user-disabled", State: "up"},
	)
	return s
}

func envMap(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func f5Method(t *testing.T, s *f5test.Server, member string, settings map[string]any, env func(string) string) Method {
	t.Helper()
	if env == nil {
		env = envMap("DRAIN_F5_USER", "admin", "DRAIN_F5_PASSWORD", f5Pass)
	}
	m, err := NewMethod("f5:"+s.URL+"#/Common/web_pool/"+member, Options{Client: s.Client(), Timeout: 5 * time.Second, Settings: settings, Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// saver keeps the undo data as the engine would: marshalled to JSON.
type saver struct{ data json.RawMessage }

func (s *saver) save(undo any) error {
	b, err := json.Marshal(undo)
	s.data = b
	return err
}

func mustStatus(t *testing.T, m Method, want Status) {
	t.Helper()
	st, err := m.Status(context.Background())
	if err != nil || st != want {
		t.Fatalf("status %s, %v; want %s", st, err, want)
	}
}

func TestF5OutInRoundTrip(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web01:80", nil, nil)
	ctx := context.Background()
	if m.Target() != s.URL+"#/Common/web_pool/web01:80" {
		t.Fatalf("target %q", m.Target())
	}
	mustStatus(t, m, In)
	var sv saver
	changed, err := m.Out(ctx, sv.save)
	if err != nil || !changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	if got, _ := s.Get("/Common/web_pool", "web01:80"); got.Session != "user-disabled" || got.State != "up" {
		t.Fatalf("after out the member is %+v, want session user-disabled, state up (not forced offline)", got)
	}
	if string(sv.data) != `{"session":"monitor-enabled","state":"up"}` {
		t.Fatalf("undo %s", sv.data)
	}
	mustStatus(t, m, Out)
	changed, err = m.Out(ctx, func(any) error { t.Fatal("save on an already-out member"); return nil })
	if err != nil || changed {
		t.Fatalf("second out: %v %v, want unchanged", changed, err)
	}
	changed, err = m.In(ctx, sv.data)
	if err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if got, _ := s.Get("/Common/web_pool", "web01:80"); got.Session != "monitor-enabled" || got.State != "up" {
		t.Fatalf("after in the member is %+v", got)
	}
	mustStatus(t, m, In)
	if changed, err = m.In(ctx, sv.data); err != nil || changed {
		t.Fatalf("second in: %v %v, want unchanged", changed, err)
	}
	if s.Logins != 1 {
		t.Fatalf("%d logins, want one token for the whole run", s.Logins)
	}
	for _, r := range s.Requests {
		if strings.HasPrefix(r, "PATCH") && r != "PATCH /mgmt/tm/ltm/pool/~Common~web_pool/members/~Common~web01:80" {
			t.Fatalf("unexpected request %s", r)
		}
	}
}

func TestF5OfflineSetting(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web01:80", map[string]any{"offline": true}, nil)
	var sv saver
	if changed, err := m.Out(context.Background(), sv.save); err != nil || !changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	if got, _ := s.Get("/Common/web_pool", "web01:80"); got.State != "user-down" || got.Session != "user-disabled" {
		t.Fatalf("after out (offline) the member is %+v", got)
	}
	if changed, err := m.In(context.Background(), sv.data); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if got, _ := s.Get("/Common/web_pool", "web01:80"); got.State != "up" || got.Session != "monitor-enabled" {
		t.Fatalf("after in the member is %+v", got)
	}
}

// A member out already (disabled by hand) is left as it is by out; in with
// no record enables it (the default); in with a record that says it was
// disabled (not forced offline) before puts exactly that back.
func TestF5AlreadyOutAndRestoreExact(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web03:80", nil, nil)
	mustStatus(t, m, Out)
	if changed, err := m.Out(context.Background(), func(any) error { return errors.New("no save expected") }); err != nil || changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	// offline out of a disabled member: forced offline, record says disabled.
	off := f5Method(t, s, "web03:80", map[string]any{"offline": true}, nil)
	var sv saver
	if changed, err := off.Out(context.Background(), sv.save); err != nil || !changed {
		t.Fatalf("offline out: %v %v", changed, err)
	}
	if got, _ := s.Get("/Common/web_pool", "web03:80"); got.State != "user-down" {
		t.Fatalf("member %+v, want user-down", got)
	}
	if changed, err := off.In(context.Background(), sv.data); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if got, _ := s.Get("/Common/web_pool", "web03:80"); got.Session != "user-disabled" || got.State != "up" {
		t.Fatalf("in restored %+v, want the disabled member it was (user-disabled, up)", got)
	}
	if changed, err := m.In(context.Background(), nil); err != nil || !changed {
		t.Fatalf("in without record: %v %v", changed, err)
	}
	if got, _ := s.Get("/Common/web_pool", "web03:80"); got.Session != "monitor-enabled" {
		t.Fatalf("in without record left %+v", got)
	}
}

func TestF5UnknownMemberAndPool(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web04:80", nil, nil)
	_, err := m.Out(context.Background(), func(any) error { t.Fatal("save for an unknown member"); return nil })
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "it has: web01:80, web02:80, web03:80") || !strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("err %v", err)
	}
	if _, err := m.Status(context.Background()); !errors.Is(err, ErrConfig) {
		t.Fatalf("status err %v", err)
	}
	p, err := NewMethod("f5:"+s.URL+"#/Common/nope/web01:80", Options{Client: s.Client(), Getenv: envMap("DRAIN_F5_TOKEN", "x")})
	if err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	// a static token the BIG-IP does not know is refused credentials, not a config error
	if _, err := p.Status(context.Background()); errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("static bad token: %v", err)
	}
	p = f5Method(t, s, "web01:80", nil, nil)
	p2, _ := NewMethod("f5:"+s.URL+"#/Common/nope/web01:80", Options{Client: s.Client(), Getenv: envMap("DRAIN_F5_USER", "admin", "DRAIN_F5_PASSWORD", f5Pass)})
	if _, err := p2.Out(context.Background(), func(any) error { return nil }); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "no pool /Common/nope") {
		t.Fatalf("unknown pool: %v", err)
	}
	if s.Patches != 0 {
		t.Fatalf("%d PATCHes for unknown targets", s.Patches)
	}
	_ = p
}

func TestF5RefusedCredentials(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web01:80", nil, envMap("DRAIN_F5_USER", "admin", "DRAIN_F5_PASSWORD", "wrong-pw"))
	st, err := m.Status(context.Background())
	if st != Unknown || err == nil || errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("status %s %v", st, err)
	}
	if strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("error shows the password: %v", err)
	}
	if _, err := m.Out(context.Background(), func(any) error { t.Fatal("save with refused credentials"); return nil }); err == nil {
		t.Fatal("out with refused credentials succeeded")
	}
	basic := f5Method(t, s, "web01:80", map[string]any{"auth": "basic"}, envMap("DRAIN_F5_USER", "admin", "DRAIN_F5_PASSWORD", "wrong-pw"))
	if _, err := basic.Status(context.Background()); err == nil || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("basic with a wrong password: %v", err)
	}
	if s.Patches != 0 {
		t.Fatal("a change with refused credentials")
	}
	if _, err := NewMethod("f5:"+s.URL+"#/Common/web_pool/web01:80", Options{Client: s.Client(), Getenv: envMap()}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "DRAIN_F5_USER") {
		t.Fatalf("no credentials: %v", err)
	}
}

// A token that expires between calls is renewed by logging in again, once.
func TestF5TokenExpiry(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web01:80", nil, nil)
	var sv saver
	mustStatus(t, m, In)
	s.ExpireTokens()
	if changed, err := m.Out(context.Background(), sv.save); err != nil || !changed {
		t.Fatalf("out after expiry: %v %v", changed, err)
	}
	if s.Logins != 2 || s.Unauthorized != 1 {
		t.Fatalf("logins %d, 401s %d; want a second login after one 401", s.Logins, s.Unauthorized)
	}
	mustStatus(t, m, Out)
}

func TestF5BasicAuthAndCredentialsFile(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web01:80", map[string]any{"auth": "basic"}, nil)
	var sv saver
	if _, err := m.Out(context.Background(), sv.save); err != nil {
		t.Fatal(err)
	}
	if s.Logins != 0 {
		t.Fatal("basic auth logged in for a token")
	}
	f := filepath.Join(t.TempDir(), "f5.cred")
	if err := os.WriteFile(f, []byte("# BIG-IP\nuser = admin\npassword="+f5Pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fm := f5Method(t, s, "web01:80", nil, envMap("DRAIN_F5_CREDENTIALS_FILE", f))
	if changed, err := fm.In(context.Background(), sv.data); err != nil || !changed {
		t.Fatalf("in with the credentials file: %v %v", changed, err)
	}
	if err := os.WriteFile(f, []byte("pasword="+f5Pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewMethod("f5:"+s.URL+"#/Common/web_pool/web01:80", Options{Client: s.Client(), Getenv: envMap("DRAIN_F5_CREDENTIALS_FILE", f)})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `unknown key "pasword"`) || strings.Contains(err.Error(), f5Pass) {
		t.Fatalf("bad credentials file: %v", err)
	}
}

// PATCH answered 200 but the member did not change: out fails naming
// what the member reads, and status still says IN.
func TestF5ChangeNotTakingEffect(t *testing.T) {
	s := newF5Stand(t)
	s.IgnorePatch = true
	m := f5Method(t, s, "web01:80", nil, nil)
	var sv saver
	_, err := m.Out(context.Background(), sv.save)
	if err == nil || !strings.Contains(err.Error(), "accepted the change but the member reads session monitor-enabled, state up") {
		t.Fatalf("out: %v", err)
	}
	if sv.data == nil {
		t.Fatal("no undo data saved before the change")
	}
	mustStatus(t, m, In)
	s.Lock()
	s.IgnorePatch, s.FailPatch = false, http.StatusBadRequest
	s.Unlock()
	if _, err := m.Out(context.Background(), sv.save); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("out with a refused PATCH: %v", err)
	}
	mustStatus(t, m, In)
}

func TestF5Unreachable(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web01:80", nil, nil)
	s.Close()
	st, err := m.Status(context.Background())
	if st != Unknown || err == nil {
		t.Fatalf("status %s %v", st, err)
	}
	if _, err := m.Out(context.Background(), func(any) error { t.Fatal("save while unreachable"); return nil }); err == nil {
		t.Fatal("out while unreachable")
	}
}

func TestF5Pool(t *testing.T) {
	s := newF5Stand(t)
	m := f5Method(t, s, "web01:80", nil, nil)
	s.Set("/Common/web_pool", "web01:80", func(m *f5test.Member) { m.CurConns = 4 })
	p, err := m.(Pooler).Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	want := `{"name":"/Common/web_pool","members":[` +
		`{"name":"web01:80","addr":"10.0.0.5:80","admin":"enabled","health":"up","in_rotation":true,"self":true,"sessions":4,"detail":"session monitor-enabled, state up"},` +
		`{"name":"web02:80","addr":"10.0.0.6:80","admin":"enabled","health":"down","in_rotation":false,"sessions":0,"detail":"session monitor-enabled, state down"},` +
		`{"name":"web03:80","addr":"10.0.0.7:80","admin":"drain","health":"up","in_rotation":false,"sessions":0,"detail":"session user-disabled, state up"}]}`
	if string(b) != want {
		t.Fatalf("pool\n%s\nwant\n%s", b, want)
	}
}

func TestF5BadTargetsAndSettings(t *testing.T) {
	env := envMap("DRAIN_F5_TOKEN", "t")
	for _, tc := range []struct {
		spec     string
		settings map[string]any
		want     string
	}{
		{spec: "f5:https://bigip", want: "no '#'"},
		{spec: "f5:http://bigip#/Common/p/m:80", want: "HTTPS only"},
		{spec: "f5:https://admin:pw@bigip#/Common/p/m:80", want: "credentials in the URL"},
		{spec: "f5:https://bigip/mgmt#/Common/p/m:80", want: "no path"},
		{spec: "f5:https://bigip#/Common/m:80", want: "want https://HOST#/PARTITION/POOL/MEMBER"},
		{spec: "f5:https://bigip#Common/p/m:80", want: "want https://HOST#/PARTITION/POOL/MEMBER"},
		{spec: "f5:https://bigip#/Common/p/m:80", settings: map[string]any{"ofline": true}, want: `unknown setting "ofline"`},
		{spec: "f5:https://bigip#/Common/p/m:80", settings: map[string]any{"offline": "yes"}, want: "want true or false"},
		{spec: "f5:https://bigip#/Common/p/m:80", settings: map[string]any{"auth": "ntlm"}, want: "want token or basic"},
	} {
		_, err := NewMethod(tc.spec, Options{Getenv: env, Settings: tc.settings})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: err %v, want %q", tc.spec, tc.settings, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: error shows the credentials: %v", tc.spec, err)
		}
	}
	m, err := NewMethod("f5:https://BigIP.example.com:8443#/Common/app.app/app_pool/10.0.0.5:80", Options{Getenv: env})
	if err != nil || m.Target() != "https://bigip.example.com:8443#/Common/app.app/app_pool/10.0.0.5:80" {
		t.Fatalf("target %v %v", m, err)
	}
}

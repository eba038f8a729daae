package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/awselb/elbtest"
)

// The aws-elb method runs against elbtest, a stand-in written from the
// documented ELBv2 Query API (see that package): no AWS account in CI.

const (
	awsKey    = "AKIAIOSFODNN7EXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func newELBStand(t *testing.T) *elbtest.Server {
	t.Helper()
	s := elbtest.New("eu-west-1", awsKey, awsSecret)
	t.Cleanup(s.Close)
	s.AddGroup(s.ARN("web"), 80,
		elbtest.Registration{ID: "i-0abc1234def567890"},
		elbtest.Registration{ID: "i-0abc1234def567891", State: "unhealthy"},
		elbtest.Registration{ID: "10.0.0.7", Port: 8080},
	)
	s.Known["i-0fff0000aaaa11112"] = true // an instance in the VPC, not registered
	return s
}

// awsEnv is an environment with the stand-in's endpoint, no IMDS and an
// empty home (no ~/.aws of the machine's), plus kv.
func awsEnv(t *testing.T, s *elbtest.Server, kv ...string) func(string) string {
	base := []string{"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", s.URL, "AWS_EC2_METADATA_DISABLED", "true", "HOME", t.TempDir()}
	return envMap(append(base, kv...)...)
}

func awsMethod(t *testing.T, s *elbtest.Server, target string, env func(string) string) Method {
	t.Helper()
	if env == nil {
		env = awsEnv(t, s, "AWS_ACCESS_KEY_ID", awsKey, "AWS_SECRET_ACCESS_KEY", awsSecret)
	}
	m, err := NewMethod("aws-elb:"+s.ARN("web")+"#"+target, Options{Client: s.Client(), Timeout: 5 * time.Second, Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func waitStatus(t *testing.T, m Method, want Status) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := m.Status(context.Background())
		if st == want && err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s %v, want %s within 10 s", st, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAWSELBOutInRoundTrip(t *testing.T) {
	s := newELBStand(t)
	s.DeregistrationDelay = time.Hour
	m := awsMethod(t, s, "i-0abc1234def567890", nil)
	ctx := context.Background()
	mustStatus(t, m, In)
	var sv saver
	if changed, err := m.Out(ctx, sv.save); err != nil || !changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	if string(sv.data) != `{"id":"i-0abc1234def567890","port":80,"state":"healthy"}` {
		t.Fatalf("undo %s", sv.data)
	}
	if r := s.Get(s.ARN("web"), "i-0abc1234def567890"); len(r) != 1 || r[0].State != "draining" {
		t.Fatalf("after out: %+v", r)
	}
	mustStatus(t, m, Out)
	if changed, err := m.Out(ctx, func(any) error { t.Fatal("save for a draining target"); return nil }); err != nil || changed {
		t.Fatalf("second out: %v %v", changed, err)
	}
	s.Lock()
	s.HealthyAfter = 2 * time.Second // long enough to read initial on a loaded machine
	s.Unlock()
	if changed, err := m.In(ctx, sv.data); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	// registered, initial: not IN until healthy (what --wait-healthy waits on)
	if st, err := m.Status(ctx); st != Out || err != nil {
		t.Fatalf("status while initial: %s %v, want OUT", st, err)
	}
	waitStatus(t, m, In)
	if changed, err := m.In(ctx, sv.data); err != nil || changed {
		t.Fatalf("second in: %v %v", changed, err)
	}
	calls := " " + strings.Join(s.Calls, " ") + " "
	if strings.Count(calls, " DeregisterTargets ") != 1 || strings.Count(calls, " RegisterTargets ") != 1 {
		t.Fatalf("calls %s, want one DeregisterTargets and one RegisterTargets", calls)
	}
}

// A target registered with a port override (8080 where the group's port is
// 80) drains completely; in puts it back on 8080 from the record.
func TestAWSELBRestoresPortAfterDrain(t *testing.T) {
	s := newELBStand(t)
	s.DeregistrationDelay = 200 * time.Millisecond
	m := awsMethod(t, s, "10.0.0.7", nil)
	var sv saver
	if changed, err := m.Out(context.Background(), sv.save); err != nil || !changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Get(s.ARN("web"), "10.0.0.7")) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the target never finished draining")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustStatus(t, m, Out)
	if _, err := m.Out(context.Background(), func(any) error { return nil }); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "is not registered in target group web") {
		t.Fatalf("out of a drained target: %v", err)
	}
	if changed, err := m.In(context.Background(), sv.data); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if r := s.Get(s.ARN("web"), "10.0.0.7"); len(r) != 1 || r[0].Port != 8080 {
		t.Fatalf("in registered %+v, want port 8080 as before", r)
	}
	pm := awsMethod(t, s, "10.0.0.7:8080", nil)
	if pm.Target() != s.ARN("web")+"#10.0.0.7:8080" {
		t.Fatalf("target %s", pm.Target())
	}
	waitStatus(t, pm, In)
}

func TestAWSELBUnknownTargetAndGroup(t *testing.T) {
	s := newELBStand(t)
	for target, want := range map[string]string{
		"i-0abc1234def567899":     "is not a valid target (InvalidTarget)",
		"i-0fff0000aaaa11112":     "is not registered in target group web",
		"i-0abc1234def567890:443": "is not registered in target group web",
	} {
		m := awsMethod(t, s, target, nil)
		_, err := m.Out(context.Background(), func(any) error { t.Fatal("save for an unknown target"); return nil })
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), "registered: 10.0.0.7:8080 healthy, i-0abc1234def567890:80 healthy, i-0abc1234def567891:80 unhealthy") {
			t.Errorf("%s: %v", target, err)
		}
	}
	m := awsMethod(t, s, "i-0abc1234def567899", nil)
	if st, err := m.Status(context.Background()); st != Unknown || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "did you mean i-0abc1234def567890") {
		t.Fatalf("status of an invalid target: %s %v", st, err)
	}
	g, err := NewMethod("aws-elb:"+s.ARN("api")+"#i-0abc1234def567890", Options{Client: s.Client(), Getenv: awsEnv(t, s, "AWS_ACCESS_KEY_ID", awsKey, "AWS_SECRET_ACCESS_KEY", awsSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Out(context.Background(), func(any) error { return nil }); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "TargetGroupNotFound") {
		t.Fatalf("unknown group: %v", err)
	}
	s.AddGroup(s.ARN("two"), 80, elbtest.Registration{ID: "i-0abc1234def567890"}, elbtest.Registration{ID: "i-0abc1234def567890", Port: 81})
	two, _ := NewMethod("aws-elb:"+s.ARN("two")+"#i-0abc1234def567890", Options{Client: s.Client(), Getenv: awsEnv(t, s, "AWS_ACCESS_KEY_ID", awsKey, "AWS_SECRET_ACCESS_KEY", awsSecret)})
	if _, err := two.Out(context.Background(), func(any) error { return nil }); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "on ports 80, 81: name one") {
		t.Fatalf("two ports: %v", err)
	}
	if strings.Contains(strings.Join(s.Calls, " "), "DeregisterTargets") {
		t.Fatalf("a change for an unknown target: %v", s.Calls)
	}
}

func TestAWSELBRefusedCredentials(t *testing.T) {
	s := newELBStand(t)
	for name, env := range map[string]func(string) string{
		"SignatureDoesNotMatch": awsEnv(t, s, "AWS_ACCESS_KEY_ID", awsKey, "AWS_SECRET_ACCESS_KEY", "not-the-secret-xyz"),
		"InvalidClientTokenId":  awsEnv(t, s, "AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000", "AWS_SECRET_ACCESS_KEY", awsSecret),
		"no AWS credentials":    awsEnv(t, s),
	} {
		m := awsMethod(t, s, "i-0abc1234def567890", env)
		st, err := m.Status(context.Background())
		if st != Unknown || err == nil || errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: status %s %v", name, st, err)
		}
		if err != nil && (strings.Contains(err.Error(), "not-the-secret") || strings.Contains(err.Error(), awsSecret)) {
			t.Errorf("%s: error shows the secret: %v", name, err)
		}
		if _, err := m.Out(context.Background(), func(any) error { t.Fatal("save with refused credentials"); return nil }); err == nil {
			t.Errorf("%s: out succeeded", name)
		}
	}
	if s.Rejected < 4 {
		t.Fatalf("the stand-in rejected %d requests for their signature", s.Rejected)
	}
	if strings.Contains(strings.Join(s.Calls, " "), "Register") {
		t.Fatal("a change with refused credentials")
	}
}

func TestAWSELBChangeNotTakingEffect(t *testing.T) {
	s := newELBStand(t)
	s.IgnoreChanges = true
	m := awsMethod(t, s, "i-0abc1234def567890", nil)
	var sv saver
	_, err := m.Out(context.Background(), sv.save)
	if err == nil || !strings.Contains(err.Error(), "accepted the deregistration but the target reads healthy") {
		t.Fatalf("out: %v", err)
	}
	if sv.data == nil {
		t.Fatal("no undo saved before the change")
	}
	mustStatus(t, m, In)
}

func TestAWSELBUnreachable(t *testing.T) {
	s := newELBStand(t)
	m := awsMethod(t, s, "i-0abc1234def567890", nil)
	s.Close()
	if st, err := m.Status(context.Background()); st != Unknown || err == nil {
		t.Fatalf("status %s %v", st, err)
	}
	if _, err := m.In(context.Background(), nil); err == nil {
		t.Fatal("in while unreachable")
	}
}

func TestAWSELBPool(t *testing.T) {
	s := newELBStand(t)
	m := awsMethod(t, s, "i-0abc1234def567890", nil)
	var sv saver
	if _, err := awsMethod(t, s, "i-0abc1234def567891", nil).Out(context.Background(), sv.save); err != nil {
		t.Fatal(err)
	}
	p, err := m.(Pooler).Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	want := `{"name":"web","members":[` +
		`{"name":"10.0.0.7:8080","addr":"10.0.0.7:8080","admin":"enabled","health":"up","in_rotation":true,"detail":"healthy"},` +
		`{"name":"i-0abc1234def567890:80","admin":"enabled","health":"up","in_rotation":true,"self":true,"detail":"healthy"},` +
		`{"name":"i-0abc1234def567891:80","admin":"disabled","health":"unknown","in_rotation":false,"detail":"draining (Target.DeregistrationInProgress)"}]}`
	if string(b) != want {
		t.Fatalf("pool\n%s\nwant\n%s", b, want)
	}
}

// Credentials from a shared profile (AWS_PROFILE in ~/.aws/credentials),
// a profile the small chain refuses (role_arn), and the instance role
// through an IMDSv2 stand-in (token PUT, role name, role credentials, as
// the EC2 user guide documents them).
func TestAWSELBCredentialsChain(t *testing.T) {
	s := newELBStand(t)
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	creds := "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = nope\n\n[prod]\naws_access_key_id = " + awsKey + "\naws_secret_access_key = " + awsSecret + "\n"
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte("[profile assumed]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = prod\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		return envMap(append([]string{"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", s.URL, "AWS_EC2_METADATA_DISABLED", "true", "HOME", home}, kv...)...)
	}
	mustStatus(t, awsMethod(t, s, "i-0abc1234def567890", env("AWS_PROFILE", "prod")), In)
	if _, err := awsMethod(t, s, "i-0abc1234def567890", env()).Status(context.Background()); err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Fatalf("default profile (unknown key): %v", err)
	}
	if _, err := awsMethod(t, s, "i-0abc1234def567890", env("AWS_PROFILE", "assumed")).Status(context.Background()); err == nil || !strings.Contains(err.Error(), "uses role_arn") {
		t.Fatalf("role_arn profile: %v", err)
	}
	if _, err := awsMethod(t, s, "i-0abc1234def567890", env("AWS_PROFILE", "typo")).Status(context.Background()); err == nil || !strings.Contains(err.Error(), `AWS profile "typo" (AWS_PROFILE) not found`) {
		t.Fatalf("missing profile: %v", err)
	}

	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" && r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") != "":
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
			_, _ = w.Write([]byte("imds-token-1"))
		case r.Header.Get("X-Aws-Ec2-Metadata-Token") != "imds-token-1":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			_, _ = w.Write([]byte("web-role"))
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/web-role":
			_ = json.NewEncoder(w).Encode(map[string]string{
				"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAROLE000000000000",
				"SecretAccessKey": "role-secret", "Token": "role-session-token", "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
				"LastUpdated": time.Now().UTC().Format(time.RFC3339),
			})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer imds.Close()
	s.Lock()
	s.Keys["ASIAROLE000000000000"] = "role-secret"
	s.Unlock()
	roleEnv := envMap("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", s.URL, "HOME", t.TempDir(), "AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	mustStatus(t, awsMethod(t, s, "i-0abc1234def567890", roleEnv), In)
}

func TestAWSELBBadTargets(t *testing.T) {
	arn := "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067"
	for spec, want := range map[string]string{
		"aws-elb:" + arn: "no '#TARGET'",
		"aws-elb:arn:aws:ec2:eu-west-1:1:instance/i-1#i-0a": "not a target group ARN",
		"aws-elb:" + arn + "#web01":                         "neither an instance id",
		"aws-elb:" + arn + "#i-0abc:99999":                  "port \"99999\" is not 1-65535",
	} {
		if _, err := NewMethod(spec, Options{}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
	if _, err := NewMethod("aws-elb:"+arn+"#i-0abc", Options{Settings: map[string]any{"region": "x"}}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `unknown setting "region"`) {
		t.Errorf("setting: %v", err)
	}
	m, err := NewMethod("aws-elb:"+arn+"#[2001:db8::5]:443", Options{})
	if err != nil || m.Target() != arn+"#[2001:db8::5]:443" {
		t.Fatalf("ipv6 target: %v %v", m, err)
	}
}

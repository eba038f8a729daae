package cli

import (
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/drain-cli/drain/internal/awselb/elbtest"
	"github.com/drain-cli/drain/internal/f5/f5test"
)

// Stand-ins for F5 iControl REST and the AWS ELBv2 API (no BIG-IP or AWS
// account in CI), one of each per script.
var (
	standMu sync.Mutex
	f5s     = map[*testscript.TestScript]*f5test.Server{}
	elbs    = map[*testscript.TestScript]*elbtest.Server{}
)

// f5serve [-ignore-patch] starts the iControl REST stand-in (TLS, user
// admin, password $F5PASS) with pool /Common/web_pool: web01:80 and
// web02:80 enabled and up, web03:80 disabled. It sets $F5 to its URL and
// writes its certificate to $WORK/f5ca.pem.
func cmdF5Serve(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("f5serve", flag.ContinueOnError)
	ignore := fs.Bool("ignore-patch", false, "")
	if neg || fs.Parse(args) != nil || fs.NArg() != 0 {
		ts.Fatalf("usage: f5serve [-ignore-patch]")
	}
	s := f5test.New("admin", "F5-pa55-word")
	s.IgnorePatch = *ignore
	s.AddPool("/Common/web_pool",
		f5test.Member{Name: "web01:80", Address: "10.0.0.5", Session: "monitor-enabled", State: "up"},
		f5test.Member{Name: "web02:80", Address: "10.0.0.6", Session: "monitor-enabled", State: "up"},
		f5test.Member{Name: "web03:80", Address: "10.0.0.7", Session: "user-disabled", State: "up"},
	)
	ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), "f5ca.pem"),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o644))
	ts.Setenv("F5", s.URL)
	ts.Setenv("F5PASS", "F5-pa55-word")
	standMu.Lock()
	f5s[ts] = s
	standMu.Unlock()
	ts.Defer(func() {
		standMu.Lock()
		delete(f5s, ts)
		standMu.Unlock()
		s.Close()
	})
}

// f5set [-after DURATION] MEMBER FIELD VALUE sets a member's curconns,
// session or state on the stand-in (in the background with -after); f5get
// MEMBER prints "session STATE" of a member.
func cmdF5Set(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("f5set", flag.ContinueOnError)
	after := fs.Duration("after", 0, "")
	if neg || fs.Parse(args) != nil || fs.NArg() != 3 {
		ts.Fatalf("usage: f5set [-after DURATION] MEMBER curconns|session|state VALUE")
	}
	standMu.Lock()
	s := f5s[ts]
	standMu.Unlock()
	if s == nil {
		ts.Fatalf("f5set: no f5serve")
	}
	member, field, value := fs.Arg(0), fs.Arg(1), fs.Arg(2)
	set := func() {
		s.Set("/Common/web_pool", member, func(m *f5test.Member) {
			switch field {
			case "curconns":
				m.CurConns, _ = strconv.ParseFloat(value, 64)
			case "session":
				m.Session = value
			case "state":
				m.State = value
			}
		})
	}
	if *after == 0 {
		set()
		return
	}
	t := time.AfterFunc(*after, set)
	ts.Defer(func() { t.Stop() })
}

// f5mode ignore-patch|normal: PATCH accepted without effect, or not.
func cmdF5Mode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || (args[0] != "ignore-patch" && args[0] != "normal") {
		ts.Fatalf("usage: f5mode ignore-patch|normal")
	}
	standMu.Lock()
	s := f5s[ts]
	standMu.Unlock()
	s.Lock()
	s.IgnorePatch = args[0] == "ignore-patch"
	s.Unlock()
}

// elbmode ignore-changes|normal: Register/DeregisterTargets accepted
// without effect, or not.
func cmdELBMode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || (args[0] != "ignore-changes" && args[0] != "normal") {
		ts.Fatalf("usage: elbmode ignore-changes|normal")
	}
	standMu.Lock()
	s := elbs[ts]
	standMu.Unlock()
	s.Lock()
	s.IgnoreChanges = args[0] == "ignore-changes"
	s.Unlock()
}

func cmdF5Get(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: f5get MEMBER")
	}
	standMu.Lock()
	s := f5s[ts]
	standMu.Unlock()
	m, ok := s.Get("/Common/web_pool", args[0])
	if !ok {
		ts.Fatalf("f5get: no member %s", args[0])
	}
	_, _ = ts.Stdout().Write([]byte(m.Session + " " + m.State + "\n"))
}

// elbserve [-delay DURATION] [-healthy-after DURATION] starts the ELBv2
// stand-in (region eu-west-1) with target group web (port 80):
// i-0abc1234def567890 and i-0abc1234def567891 healthy. It sets $ELB (the
// endpoint), $TG (the group's ARN), AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (the stand-in's key), AWS_EC2_METADATA_DISABLED.
func cmdELBServe(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("elbserve", flag.ContinueOnError)
	delay := fs.Duration("delay", 300*time.Second, "")
	healthy := fs.Duration("healthy-after", 0, "")
	if neg || fs.Parse(args) != nil || fs.NArg() != 0 {
		ts.Fatalf("usage: elbserve [-delay DURATION] [-healthy-after DURATION]")
	}
	s := elbtest.New("eu-west-1", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	s.DeregistrationDelay, s.HealthyAfter = *delay, *healthy
	s.AddGroup(s.ARN("web"), 80, elbtest.Registration{ID: "i-0abc1234def567890"}, elbtest.Registration{ID: "i-0abc1234def567891"})
	ts.Setenv("ELB", s.URL)
	ts.Setenv("TG", s.ARN("web"))
	ts.Setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", s.URL)
	ts.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	ts.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	ts.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ts.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(ts.Getenv("WORK"), "no-aws-credentials"))
	ts.Setenv("AWS_CONFIG_FILE", filepath.Join(ts.Getenv("WORK"), "no-aws-config"))
	standMu.Lock()
	elbs[ts] = s
	standMu.Unlock()
	ts.Defer(func() {
		standMu.Lock()
		delete(elbs, ts)
		standMu.Unlock()
		s.Close()
	})
}

// elbset [-after DURATION] ID STATE puts a registered target in a state
// (draining starts the deregistration delay); elbget ID prints its states.
func cmdELBSet(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("elbset", flag.ContinueOnError)
	after := fs.Duration("after", 0, "")
	if neg || fs.Parse(args) != nil || fs.NArg() != 2 {
		ts.Fatalf("usage: elbset [-after DURATION] ID STATE")
	}
	standMu.Lock()
	s := elbs[ts]
	standMu.Unlock()
	if s == nil {
		ts.Fatalf("elbset: no elbserve")
	}
	set := func() { s.Set(s.ARN("web"), fs.Arg(0), fs.Arg(1)) }
	if *after == 0 {
		set()
		return
	}
	t := time.AfterFunc(*after, set)
	ts.Defer(func() { t.Stop() })
}

// elbdelay DURATION sets the deregistration delay of later deregistrations.
func cmdELBDelay(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: elbdelay DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	standMu.Lock()
	s := elbs[ts]
	standMu.Unlock()
	s.Lock()
	s.DeregistrationDelay = d
	s.Unlock()
}

func cmdELBGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: elbget ID")
	}
	standMu.Lock()
	s := elbs[ts]
	standMu.Unlock()
	out := ""
	for _, r := range s.Get(s.ARN("web"), args[0]) {
		out += strconv.Itoa(r.Port) + " " + r.State + "\n"
	}
	if out == "" {
		out = "not registered\n"
	}
	_, _ = ts.Stdout().Write([]byte(out))
}

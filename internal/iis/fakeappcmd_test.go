package iis

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/action"
)

// The test binary doubles as a stand-in appcmd.exe: with
// DRAIN_FAKE_APPCMD_STATE set, TestMain runs fakeAppcmd instead of the tests,
// and DRAIN_APPCMD points at os.Args[0]. Under Wine that is a real Windows
// process started by the real code, so argv quoting and exit codes are
// exercised as on Windows, with no separate build step.
func TestMain(m *testing.M) {
	if argv := os.Getenv("DRAIN_TEST_NEW"); argv != "" {
		_ = os.Unsetenv("DRAIN_TEST_NEW") // New's appcmd is this binary too
		os.Exit(newChild(argv))
	}
	if os.Getenv("DRAIN_FAKE_APPCMD_STATE") != "" {
		os.Exit(fakeAppcmd(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeObj is one app pool or site. A change takes Pending further list calls
// to show (IIS's state changes are asynchronous); then State becomes Target
// and the worker processes become NewWPs.
type fakeObj struct {
	State   string   `json:"state"`
	WPs     []string `json:"wps,omitempty"`
	Pending int      `json:"pending,omitempty"`
	Target  string   `json:"target,omitempty"`
	NewWPs  []string `json:"new_wps,omitempty"`
	Delay   int      `json:"delay,omitempty"` // list calls a stop/start/recycle takes to show
}

type fakeState struct {
	Pools    map[string]*fakeObj `json:"pools"`
	Sites    map[string]*fakeObj `json:"sites"`
	Requests string              `json:"requests,omitempty"` // file printed by list requests
	Fail     map[string]int      `json:"fail,omitempty"`     // "VERB OBJECT" -> exit code
	// EmptyExit is the exit code of a list that finds nothing. Some servers
	// answer an empty <appcmd></appcmd> with a non-zero exit (reported for
	// list requests and list wp), so the stand-in does so by default: 1.
	// -1 plays a server that exits 0.
	EmptyExit int `json:"empty_exit,omitempty"`
}

// newChild runs New on a JSON argv in a process of its own (started by a
// test with another token) and prints what it answered.
func newChild(argv string) int {
	var args []string
	if err := json.Unmarshal([]byte(argv), &args); err != nil {
		fmt.Println("bad DRAIN_TEST_NEW:", err)
		return 99
	}
	a, err := action.New(args, false, time.Minute)
	if err != nil {
		fmt.Printf("error rights=%v usage=%v: %v\n", errors.Is(err, action.ErrRights), errors.Is(err, action.ErrUsage), err)
		return 1
	}
	fmt.Println("ok", a)
	return 0
}

func fakeAppcmd(args []string) int {
	path := os.Getenv("DRAIN_FAKE_APPCMD_STATE")
	if log := os.Getenv("DRAIN_FAKE_APPCMD_LOG"); log != "" {
		prev, _ := os.ReadFile(log)
		b, _ := json.Marshal(args)
		_ = os.WriteFile(log, append(append(prev, b...), '\n'), 0o600)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Println("fake appcmd:", err)
		return 99
	}
	var st fakeState
	if err := json.Unmarshal(b, &st); err != nil {
		fmt.Println("fake appcmd:", err)
		return 99
	}
	code := st.run(args)
	b, _ = json.Marshal(st)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		fmt.Println("fake appcmd:", err)
		return 99
	}
	return code
}

func appcmdFail(hresult, msg string, code int) int {
	fmt.Printf("ERROR ( hresult:%s, message:Command execution failed.\r\n%s\r\n )\r\n", hresult, msg)
	return code
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name); ok {
			return v
		}
	}
	return ""
}

func (st *fakeState) run(args []string) int {
	if len(args) < 2 {
		fmt.Println("ERROR ( message:Unknown command )")
		return 87
	}
	verb, kind := args[0], args[1]
	if c := st.Fail[verb+" "+kind]; c != 0 {
		return appcmdFail("80070005", "Access is denied.", c)
	}
	const head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<appcmd>\r\n"
	if verb == "list" {
		for _, m := range []map[string]*fakeObj{st.Pools, st.Sites} {
			for _, o := range m {
				if o.Pending > 0 {
					if o.Pending--; o.Pending == 0 {
						o.State, o.WPs, o.NewWPs = o.Target, o.NewWPs, nil
					}
				}
			}
		}
		var sb strings.Builder
		sb.WriteString(head)
		n := 0
		switch kind {
		case "apppool":
			for _, name := range sortedKeys(st.Pools) {
				fmt.Fprintf(&sb, "    <APPPOOL APPPOOL.NAME=%q PipelineMode=\"Integrated\" RuntimeVersion=\"v4.0\" state=%q />\r\n", name, st.Pools[name].State)
				n++
			}
		case "site":
			for i, name := range sortedKeys(st.Sites) {
				fmt.Fprintf(&sb, "    <SITE SITE.NAME=%q SITE.ID=\"%d\" bindings=\"http/*:80:\" state=%q />\r\n", name, i+1, st.Sites[name].State)
				n++
			}
		case "wp":
			pool := flagValue(args, "/apppool.name:")
			for _, name := range sortedKeys(st.Pools) {
				if strings.EqualFold(name, pool) || pool == "" {
					for _, w := range st.Pools[name].WPs {
						fmt.Fprintf(&sb, "    <WP WP.NAME=%q APPPOOL.NAME=%q />\r\n", w, name)
						n++
					}
				}
			}
		case "requests":
			if st.Requests != "" {
				b, err := os.ReadFile(st.Requests)
				if err != nil {
					fmt.Println(err)
					return 99
				}
				fmt.Print(string(b))
				if !strings.Contains(string(b), "<REQUEST ") {
					return st.emptyExit()
				}
				return 0
			}
		}
		sb.WriteString("</appcmd>\r\n")
		fmt.Print(sb.String())
		if n == 0 {
			return st.emptyExit()
		}
		return 0
	}
	objs, flag, what := st.Pools, "/apppool.name:", "APPPOOL"
	if kind == "site" {
		objs, flag, what = st.Sites, "/site.name:", "SITE"
	}
	name := flagValue(args, flag)
	var o *fakeObj
	for n, v := range objs {
		if strings.EqualFold(n, name) {
			o = v
		}
	}
	if o == nil {
		fmt.Printf("ERROR ( message:Cannot find %s object with identifier \"%s\". )\r\n", what, name)
		return 1168
	}
	later := func(target string, wps []string) {
		o.Pending, o.Target, o.NewWPs = max(o.Delay, 1), target, wps
	}
	switch verb {
	case "stop":
		if o.State == "Stopped" {
			return appcmdFail("80070426", "The service has not been started.", 1062)
		}
		o.State = "Stopping"
		later("Stopped", nil)
		fmt.Printf("\"%s\" successfully stopped.\r\n", name)
	case "start":
		if o.State == "Started" {
			return appcmdFail("800710df", "The object identifier does not represent a valid object.", 4319)
		}
		o.State = "Starting"
		later("Started", nil)
		fmt.Printf("\"%s\" successfully started.\r\n", name)
	case "recycle":
		if o.State != "Started" {
			return appcmdFail("80070426", "The service has not been started.", 1062)
		}
		var fresh []string
		if len(o.WPs) > 0 {
			fresh = []string{"9999"}
			o.WPs = append(slices.Clone(o.WPs), fresh...) // overlapped recycle
		}
		later("Started", fresh)
		fmt.Printf("\"%s\" successfully recycled.\r\n", name)
	default:
		fmt.Println("ERROR ( message:Unknown verb )")
		return 87
	}
	return 0
}

func (st *fakeState) emptyExit() int {
	switch st.EmptyExit {
	case 0:
		return 1
	case -1:
		return 0
	}
	return st.EmptyExit
}

func sortedKeys(m map[string]*fakeObj) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

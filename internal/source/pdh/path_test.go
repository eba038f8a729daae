package pdh

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	cases := []struct {
		in   string
		want Path
		ok   bool
	}{
		{`\W3SVC_W3WP(1234_My_Pool)\Active Requests`, Path{Object: "W3SVC_W3WP", Instance: "1234_My_Pool", HasInstance: true, Counter: "Active Requests"}, true},
		{`\System\Processes`, Path{Object: "System", Counter: "Processes"}, true},
		{`\\web2\ASP.NET State Service\State Server Sessions Active`, Path{Machine: "web2", Object: "ASP.NET State Service", Counter: "State Server Sessions Active"}, true},
		{`\Processor(*)\% Processor Time`, Path{Object: "Processor", Instance: "*", HasInstance: true, Counter: "% Processor Time"}, true},
		{`\ASP.NET Apps v4.0.30319(_LM_W3SVC_1_ROOT)\Requests Executing`, Path{Object: "ASP.NET Apps v4.0.30319", Instance: "_LM_W3SVC_1_ROOT", HasInstance: true, Counter: "Requests Executing"}, true},
		{`System\Processes`, Path{}, false},
		{`\System`, Path{}, false},
		{`\System\`, Path{}, false},
		{`\\host`, Path{}, false},
		{``, Path{}, false},
	}
	for _, tc := range cases {
		got, ok := parse(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parse(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && got.String() != tc.in {
			t.Errorf("String() = %q, want %q", got.String(), tc.in)
		}
		_, err := Check(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v", tc.in, err)
		}
	}
	if !IsWildcard(`\W3SVC_W3WP(*)\Active Requests`) || IsWildcard(`\W3SVC_W3WP(_Total)\Active Requests`) {
		t.Error("IsWildcard")
	}
}

func TestWorkerPoolAndSiteApp(t *testing.T) {
	pools := map[string]string{"1234_MyPool": "MyPool", "88_My_Pool_2": "My_Pool_2", "_Total": "", "x1_Pool": "", "12_": ""}
	for inst, want := range pools {
		got, ok := WorkerPool(inst)
		if got != want || ok != (want != "") {
			t.Errorf("WorkerPool(%q) = %q, %v; want %q", inst, got, ok, want)
		}
	}
	apps := []struct {
		inst string
		id   int
		want bool
	}{
		{"_LM_W3SVC_1_ROOT", 1, true},
		{"_lm_w3svc_1_root_api", 1, true},
		{"_LM_W3SVC_12_ROOT", 1, false},
		{"_LM_W3SVC_12_ROOT", 12, true},
		{"_LM_W3SVC_1_ROOTX", 1, false},
		{"__Total__", 1, false},
	}
	for _, a := range apps {
		if got := SiteApp(a.inst, a.id); got != a.want {
			t.Errorf("SiteApp(%q, %d) = %v", a.inst, a.id, got)
		}
	}
	if !IsTotal("_Total") || !IsTotal("__TOTAL__") || IsTotal("1_Total") {
		t.Error("IsTotal")
	}
}

func TestSiteID(t *testing.T) {
	file := filepath.Join("testdata", "applicationHost.config")
	for name, want := range map[string]int{"Default Web Site": 1, "shop": 12} {
		got, err := SiteID(file, name)
		if err != nil || got != want {
			t.Errorf("SiteID(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
	_, err := SiteID(file, "Blog")
	if err == nil || !strings.Contains(err.Error(), `no IIS site "Blog" (sites: Default Web Site, Shop)`) {
		t.Errorf("unknown site: %v", err)
	}
	_, err = SiteID(filepath.Join(t.TempDir(), "none.config"), "Shop")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), `find the id of IIS site "Shop"`) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.config")
	if err := os.WriteFile(bad, []byte("<configuration><system.applicationHost>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := SiteID(bad, "Shop"); err == nil || !strings.Contains(err.Error(), "parse applicationHost.config") {
		t.Errorf("truncated file: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Code: CStatusNoObject, Path: `\Nope\X`, Text: "The specified object is not found on the system.\r\n"}
	if got, want := e.Error(), `\Nope\X: The specified object is not found on the system (PDH_CSTATUS_NO_OBJECT 0xC0000BB8)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(e, ErrNoObject) || errors.Is(e, ErrNoCounter) {
		t.Error("errors.Is by code")
	}
	if got := (&Error{Code: 0xC0001234}).Error(); got != "PDH error (0xC0001234)" {
		t.Errorf("unknown code: %q", got)
	}
}

func TestSamePool(t *testing.T) {
	for _, tc := range []struct {
		inst, pool string
		want       bool
	}{
		{"Shop", "shop", true},
		{"Shop#1", "Shop", true},
		{"Shop#12", "SHOP", true},
		{"Shopping", "Shop", false},
		{"Shop#", "Shop", false},
		{"Shop#a", "Shop", false},
		{"Web#Api", "Web#Api", true},
		{"Web#Api", "Web", false},
		{"api/v2", "api/v2", true},
		{"v2", "api/v2", false},
	} {
		if got := SamePool(tc.inst, tc.pool); got != tc.want {
			t.Errorf("SamePool(%q, %q) = %v", tc.inst, tc.pool, got)
		}
	}
}

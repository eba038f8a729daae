package f5

import (
	"encoding/json"
	"strings"
	"testing"
)

// Both stats shapes: the nested one (11.5 and later; F5 BigStats reads
// entries[SELF].nestedStats.entries["serverside.curConns"].value) and the
// flat one older releases answer (POSH-LTM-Rest Get-PoolMemberStats falls
// back to it).
func TestCurConns(t *testing.T) {
	for _, tc := range []struct {
		body string
		want float64
		err  string
	}{
		{body: `{"kind":"tm:ltm:pool:members:membersstats","entries":{"https://localhost/mgmt/tm/ltm/pool/~Common~p/members/~Common~a:80/stats":{"nestedStats":{"entries":{"addr":{"description":"10.0.0.5"},"serverside.curConns":{"value":12}}}}}}`, want: 12},
		{body: `{"entries":{"serverside.curConns":{"value":3},"serverside.totConns":{"value":9}}}`, want: 3},
		{body: `{"entries":{"a":{"nestedStats":{"entries":{"serverside.curConns":{"value":1}}}},"b":{"nestedStats":{"entries":{"serverside.curConns":{"value":2}}}}}}`, err: "2 serverside.curConns entries"},
		{body: `{"entries":{"x":{"nestedStats":{"entries":{"serverside.totConns":{"value":1}}}}}}`, err: "no serverside.curConns"},
		{body: `{"entries":{"serverside.curConns":{"description":"n/a"}}}`, err: "no numeric value"},
		{body: `{"kind":"x"}`, err: "no entries"},
	} {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tc.body), &raw); err != nil {
			t.Fatal(err)
		}
		v, err := curConns(raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v %v, want error %q", tc.body, v, err, tc.err)
			}
			continue
		}
		if err != nil || v != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.body, v, err, tc.want)
		}
	}
}

func TestTargetURLs(t *testing.T) {
	tg, err := ParseTarget("https://BIGIP:443#/Common/app.app/app_pool/10.0.0.5:80")
	if err != nil {
		t.Fatal(err)
	}
	if got := tg.memberURL(); got != "https://bigip/mgmt/tm/ltm/pool/~Common~app.app~app_pool/members/~Common~10.0.0.5:80" {
		t.Fatalf("member URL %s", got)
	}
}

func TestTargetCanonical(t *testing.T) {
	for _, in := range []string{"https://BigIP.example.com#/Common/p/web01:80", "https://bigip.example.com:443#/Common/p/web01:80"} {
		tg, err := ParseTarget(in)
		if err != nil || tg.String() != "https://bigip.example.com#/Common/p/web01:80" {
			t.Errorf("%s: %v %v", in, tg, err)
		}
	}
}

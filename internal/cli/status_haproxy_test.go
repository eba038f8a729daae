package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
	"github.com/drain-cli/drain/internal/iostreams"
)

// Instances that disagree are shown one line each, not as an error.
func TestStatusShowsEachHAProxyInstance(t *testing.T) {
	lb1, lb2 := haproxytest.New(t, "web/a"), haproxytest.New(t, "web/a")
	lb1.Set("web/a", haproxytest.Server{Admin: 0x01})
	cfg := &config.Config{HAProxy: []string{lb1.Addr + "#web/a", lb2.Addr + "#web/a"}, StateDir: t.TempDir()}
	if err := cfg.ParseRotation(); err != nil {
		t.Fatal(err)
	}
	rot, store, err := buildRotation(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := collectStatus(context.Background(), &drain.Plan{Rotator: rot, Store: store})
	if rep.Error != "" || rep.Rotation != "MIXED" || len(rep.Parts) != 2 {
		t.Fatalf("report %+v, want MIXED with two parts and no error", rep)
	}
	ios, out, _ := iostreams.Test()
	printStatus(ios, rep)
	for _, want := range []string{"rotation: MIXED", "  haproxy " + lb1.Addr + "#web/a: maint\n", "  haproxy " + lb2.Addr + "#web/a: ready\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "error") {
		t.Errorf("status output shows an error:\n%s", out)
	}
}

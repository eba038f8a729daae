package config

import (
	"strings"
	"testing"

	_ "github.com/drain-cli/drain/internal/rotation" // the types register themselves

	"github.com/drain-cli/drain/internal/usage"
)

// TestPoolParsedOnce: --pool (flag, DRAIN_POOL or the file's pool:) is
// parsed once, by its type, into Config.Pool as Config.Rotation is; a bad
// one is a usage error naming --pool and the spec with a hint, before any
// command looks at it.
func TestPoolParsedOnce(t *testing.T) {
	cfg, err := Load(flags(t, "--pool", " haproxy:/run/haproxy/admin.sock#web/app1 "), nil, "", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Pool == nil || cfg.Pool.Type.Name != "haproxy" || cfg.Pool.Target != "/run/haproxy/admin.sock#web/app1" {
		t.Fatalf("Pool = %+v", cfg.Pool)
	}
	cfg, err = Load(flags(t), nil, "", env(map[string]string{"DRAIN_POOL": "nginx-upstream:/etc/nginx/web.conf#web"}))
	if err != nil || cfg.Pool == nil || cfg.Pool.Type.Name != "nginx-upstream" {
		t.Fatalf("DRAIN_POOL: %+v %v", cfg.Pool, err)
	}
	if cfg, err = Load(flags(t), nil, "", env(nil)); err != nil || cfg.Pool != nil {
		t.Fatalf("no --pool: %+v %v", cfg.Pool, err)
	}

	_, err = Load(flags(t, "--pool", "hapoxy:/x#web"), nil, "", env(nil))
	ue := usage.Of(err)
	if ue == nil || ue.Flag != "--pool" || ue.Spec != "hapoxy:/x#web" || ue.Hint == "" || !strings.Contains(err.Error(), "did you mean haproxy?") {
		t.Fatalf("typo'd --pool: %v (usage error %+v)", err, ue)
	}
	_, err = Load(flags(t, "--pool", "https://user:s3cret@lb/x"), nil, "", env(nil))
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a --pool with a password: %v", err)
	}
}

package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMachineFileUnderTheUsers (issue 19): the machine's file is read when
// it exists, the user's overrides it key by key and rotation: type by
// type; an absent machine file is no error; "" reads none.
func TestMachineFileUnderTheUsers(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "etc.yaml")
	user := filepath.Join(dir, "user.yaml")
	if err := os.WriteFile(sys, []byte("settle: 7s\nlb-grace: 3s\nrotation:\n  exec:\n    a: {out: [x], in: [y], status: [z]}\n  apache: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(user, []byte("settle: 9s\nrotation:\n  exec:\n    b: {out: [x], in: [y], status: [z]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadWithSystem(flags(t), nil, user, sys, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Settle.String() != "9s" || cfg.LBGrace.String() != "3s" {
		t.Errorf("settle %v (want the user's 9s), lb-grace %v (want the machine's 3s)", cfg.Settle, cfg.LBGrace)
	}
	if o := cfg.Origins["lb-grace"].From; o != "file "+sys {
		t.Errorf("lb-grace from %q, want the machine's file", o)
	}
	if _, ok := cfg.RotationSettings["exec"]["b"]; !ok || cfg.RotationSettings["exec"]["a"] != nil {
		t.Errorf("rotation exec %v: want the user's (type by type)", cfg.RotationSettings["exec"])
	}
	if _, ok := cfg.RotationSettings["apache"]; !ok {
		t.Errorf("rotation %v: the machine's apache section is lost", cfg.RotationSettings)
	}
	if !slices.Equal(cfg.Files, []string{sys, user}) {
		t.Errorf("files %v", cfg.Files)
	}

	cfg, err = LoadWithSystem(flags(t), nil, "", filepath.Join(dir, "absent.yaml"), env(nil))
	if err != nil || len(cfg.Files) != 0 || cfg.Settle.String() != "5s" {
		t.Errorf("absent machine file: %v, files %v, settle %v", err, cfg.Files, cfg.Settle)
	}
	if got := SystemFile(env(map[string]string{SystemFileEnv: sys})); got != sys {
		t.Errorf("SystemFile with the override: %s", got)
	}
	if got := SystemFile(env(nil)); got != DefaultSystemFile() {
		t.Errorf("SystemFile: %s, want %s", got, DefaultSystemFile())
	}
}

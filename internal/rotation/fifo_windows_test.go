//go:build windows

package rotation

import "testing"

func mkfifo(t *testing.T, _ string) string { t.Fatal("no FIFOs on Windows"); return "" }

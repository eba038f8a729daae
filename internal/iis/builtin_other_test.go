//go:build !windows

package iis

import (
	"errors"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/action"
)

func TestBuiltinsOnlyOnWindows(t *testing.T) {
	for _, argv := range [][]string{{"recycle-apppool", "MyPool"}, {"iisreset-stop"}} {
		_, err := action.New(argv, false, 0)
		if !errors.Is(err, action.ErrUsage) || !strings.Contains(err.Error(), argv[0]+" is a Windows built-in") {
			t.Errorf("%q: err = %v", argv, err)
		}
	}
	if _, err := Executing(t.Context(), Scope{Pool: "Shop"}); err == nil {
		t.Error("Executing off Windows: want an error")
	}
}

//go:build !windows

package source

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// Windows counter specs parse everywhere but refuse to build off Windows.
func TestPDHTypesOnlyOnWindows(t *testing.T) {
	for _, raw := range []string{`pdh:\System\Processes`, "iis:MyPool", "aspnet:Shop", "aspnet-sessions:Shop", "state-server"} {
		spec, err := ParseSpec(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		_, err = New(spec, Options{})
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), "pdh sources work only on Windows (this is "+runtime.GOOS+")") {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

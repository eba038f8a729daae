//go:build !windows

package cli

import (
	"errors"
	"runtime"

	"github.com/drain-cli/drain/internal/source/pdh"
)

// loadPerfNames has nothing to load off Windows.
func loadPerfNames() (*pdh.Names, error) {
	return nil, errors.New("no performance counters on " + runtime.GOOS)
}

func listCounters(*Factory, string) error {
	return usageErr("use --url URL to list the metrics of a Prometheus page (windows_exporter serves the Windows counters)",
		"listing performance counters works only on Windows (this is %s)", runtime.GOOS)
}

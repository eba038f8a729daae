//go:build !windows

package cli

import (
	"runtime"

	"github.com/drain-cli/drain/internal/iostreams"
)

func listCounters(*iostreams.IOStreams, string) error {
	return usageErr("use --url URL to list the metrics of a Prometheus page (windows_exporter serves the Windows counters)",
		"listing performance counters works only on Windows (this is %s)", runtime.GOOS)
}

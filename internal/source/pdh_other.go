//go:build !windows

package source

import (
	"fmt"
	"runtime"
)

func init() {
	for _, name := range []string{"pdh", "iis", "aspnet", "aspnet-sessions", "state-server"} {
		register(name, onlyOnWindows)
	}
}

// onlyOnWindows keeps the Windows counter types parseable everywhere (a
// shared config file validates on any machine) while refusing to read them.
func onlyOnWindows(string, Options) (Source, error) {
	return nil, fmt.Errorf("pdh sources work only on Windows (this is %s); use prom: with windows_exporter for remote reads", runtime.GOOS)
}

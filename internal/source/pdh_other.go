//go:build !windows

package source

import (
	"fmt"
	"runtime"
)

// The constructors of the Windows counter types (pdh_types.go) refuse here.
var newPDH, newIIS, newASPNet, newASPNetSessions, newStateServer = onlyOnWindows, onlyOnWindows, onlyOnWindows, onlyOnWindows, onlyOnWindows

// onlyOnWindows keeps the Windows counter types parseable everywhere (a
// shared config file validates on any machine) while refusing to read them.
func onlyOnWindows(string, Options) (Source, error) {
	return nil, fmt.Errorf("pdh sources work only on Windows (this is %s); use prom: with windows_exporter for remote reads", runtime.GOOS)
}

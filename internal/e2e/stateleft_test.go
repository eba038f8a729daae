//go:build !windows

package e2e

import (
	"os"
	"strings"
)

// stateLeft lists what a failed command left in a state directory. A lock
// file stays, emptied (state.Lock.Release says why): that is not state; a
// record, or a lock file still naming someone, is.
func stateLeft(dir string) []string {
	entries, _ := os.ReadDir(dir)
	names := []string{}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".lock") && fi.Size() == 0 {
			continue
		}
		names = append(names, e.Name())
	}
	return names
}

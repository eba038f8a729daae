//go:build !linux && !darwin && !windows

package state

import "time"

const startSlack = time.Second

// processStart is not implemented here: the pid alone is checked.
func processStart(int) (time.Time, error) { return time.Time{}, errStartUnknown }

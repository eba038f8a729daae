//go:build race

package source

// raceEnabled: built with -race, whose instrumentation changes what is
// allocated (io.ReadAll's append(nil, make(...)...) is no longer one
// allocation), so allocation bounds do not hold.
const raceEnabled = true

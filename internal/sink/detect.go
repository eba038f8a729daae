package sink

import (
	"sort"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/iostreams"
)

// Env is what a detected sink is made from: the command, its streams and
// output mode, and the environment it runs in (CI systems announce
// themselves there: GITHUB_ACTIONS=true, TF_BUILD=True).
type Env struct {
	IOStreams *iostreams.IOStreams
	Command   string // run, out, in, wait
	JSON      bool   // stdout carries NDJSON: write nothing else there
	Getenv    func(string) string
	Now       func() time.Time
}

// Detector returns its sink when env calls for it, else nil.
type Detector func(env Env) Sink

var (
	detMu     sync.Mutex
	detectors = map[string]Detector{}
)

// Register adds a sink that is used when its detector says so, besides the
// output's own (terminal, lines or NDJSON). Called from init by the sink's
// file: a new CI system is one file.
func Register(name string, d Detector) {
	detMu.Lock()
	defer detMu.Unlock()
	detectors[name] = d
}

// Detected returns the registered sinks that env calls for, by name.
func Detected(env Env) []Sink {
	detMu.Lock()
	names := make([]string, 0, len(detectors))
	for n := range detectors {
		names = append(names, n)
	}
	detMu.Unlock()
	sort.Strings(names)
	var out []Sink
	for _, n := range names {
		detMu.Lock()
		d := detectors[n]
		detMu.Unlock()
		if s := d(env); s != nil {
			out = append(out, s)
		}
	}
	return out
}

package cli

import (
	"io"
	"strings"
	"sync"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/sink"
)

// ciSystem is the CI system whose native output drain adds: from --ci (key
// ci, DRAIN_CI), or with auto from the variables the runners set:
// GITHUB_ACTIONS=true on GitHub Actions, TF_BUILD=True on Azure Pipelines.
func ciSystem(mode string, getenv func(string) string) string {
	switch mode {
	case "github", "azure", "off":
		return mode
	}
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		return "github"
	case strings.EqualFold(getenv("TF_BUILD"), "true"):
		return "azure"
	}
	return "off"
}

// ciSinks returns the CI sink for this run, or nil. Its commands go to w,
// the stream the action's output goes to: stdout, or stderr with --output
// json (both runners read commands from either stream; stdout stays pure
// NDJSON). Plain log lines are not touched.
func ciSinks(cfg *config.Config, w io.Writer, getenv func(string) string) sink.Sink {
	switch ciSystem(cfg.CI, getenv) {
	case "github":
		return &lockedSink{s: sink.NewGitHub(w, getenv("GITHUB_STEP_SUMMARY"))}
	case "azure":
		return &lockedSink{s: sink.NewAzure(w, getenv("AGENT_TEMPDIRECTORY"), cfg.Settle)}
	}
	return nil
}

// lockedSink serialises a sink's events: the drain and the signal handling
// may emit at once.
type lockedSink struct {
	mu sync.Mutex
	s  sink.Sink
}

func (l *lockedSink) Event(e drain.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Event(e)
}

func (l *lockedSink) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Close()
}

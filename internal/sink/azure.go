package sink

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/drain"
)

// Azure speaks Azure Pipelines' logging commands: warnings and failures
// as ##vso[task.logissue], the wait's progress as ##vso[task.setprogress],
// a Markdown summary attached with ##vso[task.uploadsummary], and
// ##vso[task.complete result=SucceededWithIssues;] for a forced drain.
// Nothing here marks success or failure otherwise: the exit code does.
//
// The agent reads logging commands from both stdout and stderr of a task
// (azure-pipelines-agent, src/Agent.Worker/Handlers/NodeHandler.cs: the
// same OnDataReceived on OutputDataReceived and ErrorDataReceived). W is
// the stream the action's output goes to: stdout, or stderr when stdout
// carries NDJSON.
type Azure struct {
	W          io.Writer
	SummaryDir string        // $AGENT_TEMPDIRECTORY, else the temp dir
	Settle     time.Duration // for progress when there is no timeout

	sum      summary
	lastPct  int
	lastText string
	err      error
}

// NewAzure returns the Azure Pipelines sink.
func NewAzure(w io.Writer, summaryDir string, settle time.Duration) *Azure {
	if summaryDir == "" {
		summaryDir = os.TempDir()
	}
	return &Azure{W: w, SummaryDir: summaryDir, Settle: settle, lastPct: -1}
}

// Event implements Sink.
func (a *Azure) Event(e drain.Event) {
	e = SanitizeEvent(e) // the renderer did already: this sink is safe on its own
	a.sum.add(e)
	switch e.Event {
	case drain.EvWarning:
		a.command("task.logissue type=warning", a.prefix()+e.Message)
	case drain.EvPoll:
		a.progress(e)
	case drain.EvResult:
		if level := annotationLevel(e.Result); level != "" {
			a.command("task.logissue type="+level, a.prefix()+resultMessage(e))
		}
		a.writeSummary()
		if e.Result == drain.ResultForced {
			a.command("task.complete result=SucceededWithIssues;", "FORCED: the action ran before the server was drained")
		}
	}
}

// Close implements Sink: it reports a summary that could not be written.
func (a *Azure) Close() error { return a.err }

// progress is elapsed/timeout when there is a timeout, else how far the
// settle window has run; a line only when the percentage or what the
// drain waits on changes.
func (a *Azure) progress(e drain.Event) {
	var frac float64
	switch {
	case e.Remaining != nil:
		if total := float64(e.Elapsed) + float64(*e.Remaining); total > 0 {
			frac = float64(e.Elapsed) / total
		}
	case e.QuietFor != nil && a.Settle > 0:
		frac = float64(*e.QuietFor) / a.Settle.Seconds()
	}
	pct := int(math.Round(min(max(frac, 0), 1) * 100))
	text := "drain: waiting"
	if len(e.Blocking) > 0 {
		keys := make([]string, len(e.Blocking))
		for i, b := range e.Blocking {
			keys[i] = blockKey(b)
		}
		text += " on " + strings.Join(keys, ", ")
	}
	if pct == a.lastPct && text == a.lastText {
		return
	}
	a.lastPct, a.lastText = pct, text
	a.command(fmt.Sprintf("task.setprogress value=%d;", pct), text)
}

func (a *Azure) writeSummary() {
	f, err := os.CreateTemp(a.SummaryDir, "drain-summary-*.md")
	if err != nil {
		a.err = fmt.Errorf("cannot write the pipeline summary in %s: %w", a.SummaryDir, err)
		return
	}
	_, err = f.WriteString(a.sum.markdown(false))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		a.err = fmt.Errorf("cannot write the pipeline summary %s: %w", f.Name(), err)
		return
	}
	a.command("task.uploadsummary", f.Name())
}

func (a *Azure) prefix() string {
	if t := a.sum.target(); t != "" {
		return "drain " + t + ": "
	}
	return "drain: "
}

// command writes ##vso[AREA.EVENT PROPS]MESSAGE; props are built here from
// fixed words and numbers, so only the message needs escaping.
func (a *Azure) command(cmd, msg string) {
	_, _ = io.WriteString(a.W, "##vso["+cmd+"]"+AzureData(msg)+"\n")
}

// AzureData escapes a logging command's message as azure-pipelines-task-lib
// does (taskcommand.ts escapedata): %, CR and LF.
func AzureData(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A").Replace(s)
}

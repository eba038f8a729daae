package sink

import (
	"fmt"
	"io"
	"strings"

	"github.com/drain-cli/drain/internal/drain"
)

// GitHub speaks GitHub Actions' workflow commands: warnings and failures
// as annotations (::warning/::error, shown on the run's page), the
// action's output folded in ::group::/::endgroup::, and a Markdown summary
// appended to $GITHUB_STEP_SUMMARY.
//
// The runner reads workflow commands from both stdout and stderr of a run
// step (actions/runner, src/Runner.Worker/Handlers/ScriptHandler.cs: one
// OutputManager, which processes commands, on each stream). W is the
// stream the action's own output goes to, so that the group markers sit
// around it in order: stdout, or stderr when stdout carries NDJSON.
type GitHub struct {
	W           io.Writer
	SummaryPath string // $GITHUB_STEP_SUMMARY; "" writes no summary

	sum     summary
	inGroup bool
	err     error
}

// NewGitHub returns the GitHub Actions sink.
func NewGitHub(w io.Writer, summaryPath string) *GitHub {
	return &GitHub{W: w, SummaryPath: summaryPath}
}

// Event implements Sink.
func (g *GitHub) Event(e drain.Event) {
	e = SanitizeEvent(e) // the renderer did already: this sink is safe on its own
	g.sum.add(e)
	switch e.Event {
	case drain.EvWarning:
		g.command("warning", g.title("warning"), e.Message)
	case drain.EvAction:
		switch {
		case e.Message == "started" && e.ActionExit == nil && e.Error == "":
			g.endGroup()
			g.command("group", "", "action: "+e.Action)
			g.inGroup = true
		case e.ActionExit != nil || e.Error != "":
			g.endGroup()
		}
	case drain.EvResult:
		g.endGroup()
		if level := annotationLevel(e.Result); level != "" {
			g.command(level, g.title(e.Result), resultMessage(e))
		}
		if g.SummaryPath != "" {
			if err := appendFile(g.SummaryPath, g.sum.markdown(true)); err != nil {
				g.err = fmt.Errorf("cannot write the GitHub step summary %s: %w", g.SummaryPath, err)
			}
		}
	}
}

// Close implements Sink: it reports a summary that could not be written.
func (g *GitHub) Close() error {
	g.endGroup() // a run cut short still closes its group
	return g.err
}

func (g *GitHub) endGroup() {
	if g.inGroup {
		g.command("endgroup", "", "")
		g.inGroup = false
	}
}

// title is "drain SERVER: WHAT".
func (g *GitHub) title(what string) string {
	if t := g.sum.target(); t != "" {
		return "drain " + t + ": " + what
	}
	return "drain: " + what
}

func (g *GitHub) command(name, title, msg string) {
	line := "::" + name
	if title != "" {
		line += " title=" + GitHubProperty(title)
	}
	_, _ = io.WriteString(g.W, line+"::"+GitHubData(msg)+"\n")
}

// GitHubData escapes a workflow command's message as @actions/core does
// (escapeData): %, CR and LF, so that it stays one command on one line.
func GitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// GitHubProperty escapes a property value (title=...) as @actions/core
// does (escapeProperty): also ':' and ',', which end a property.
func GitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// annotationLevel is how a result is raised: a failure as an error, a
// forced drain (the action ran before the server was drained) as a warning,
// success not at all.
func annotationLevel(result string) string {
	switch result {
	case drain.ResultForced:
		return "warning"
	case drain.ResultTimeout, drain.ResultError, drain.ResultInterrupted, drain.ResultActionFail:
		return "error"
	}
	return ""
}

// resultMessage says how the run ended and where the server stands.
func resultMessage(e drain.Event) string {
	var s string
	switch e.Result {
	case drain.ResultForced:
		s = "FORCED: the action ran before the server was drained (--on-timeout force)"
	case drain.ResultTimeout:
		s = "NOT drained: timed out"
	case drain.ResultInterrupted:
		s = "interrupted"
	case drain.ResultActionFail:
		s = "drained, but the action FAILED"
	default:
		s = "failed"
	}
	switch {
	case e.Error != "" && e.Result == drain.ResultTimeout:
		s = e.Error // "not drained within 1m: still waiting on ..."
	case e.Error != "":
		s += ": " + e.Error
	}
	switch e.Rotation {
	case "IN":
		s += "; server is IN rotation"
	case "OUT":
		s += "; server is OUT of rotation"
	case "UNKNOWN":
		s += "; rotation state UNKNOWN: check with 'drain status'"
	}
	if e.ExitCode != nil {
		s += fmt.Sprintf(" (exit %d)", *e.ExitCode)
	}
	return s
}

package drain

import (
	"time"

	"github.com/drain-cli/drain/internal/source"
)

// Event kinds, in the order a run emits them.
const (
	EvOut     = "out"     // taken out of rotation (or already out)
	EvVerify  = "verify"  // the verify URL stopped (or started) answering 2xx
	EvPoll    = "poll"    // one round of source reads
	EvDrained = "drained" // the drain condition holds
	EvTimeout = "timeout" // the timeout passed first
	EvAction  = "action"  // the action started or finished
	EvIn      = "in"      // put back into rotation (or already in)
	EvWarning = "warning" // something the operator must see
	EvTurn    = "turn"    // waiting for a turn: the budget or the pool's lock
	EvResult  = "result"  // the last event of every command
)

// Results, the value of a result event.
const (
	ResultDrained     = "drained"
	ResultForced      = "forced"
	ResultTimeout     = "timeout"
	ResultInterrupted = "interrupted"
	ResultError       = "error"
	ResultDryRun      = "dry-run"
	ResultActionFail  = "action-failed"
	ResultOK          = "ok"      // out / in / status without a drain
	ResultRefused     = "refused" // the disruption budget said no (--min-in-rotation)
)

// Event is one thing that happened, rendered by the CLI as a live line,
// plain log lines or one NDJSON object.
type Event struct {
	Time  time.Time `json:"time"`
	Event string    `json:"event"`

	Target   string `json:"target,omitempty"`
	Rotation string `json:"rotation,omitempty"` // IN | OUT | UNKNOWN after this event
	Changed  *bool  `json:"changed,omitempty"`  // out/in: whether anything changed
	Message  string `json:"message,omitempty"`
	// Reason is --reason, on the out event (text from outside: shown
	// through the sinks' sanitizing).
	Reason string `json:"reason,omitempty"`

	Sources  []Reading `json:"sources,omitempty"`
	Blocking []string  `json:"blocking,omitempty"` // what still stops the drain

	Elapsed   Seconds  `json:"elapsed_s,omitempty"`
	Remaining *Seconds `json:"remaining_s,omitempty"` // nil: no timeout
	QuietFor  *Seconds `json:"quiet_s,omitempty"`     // how long all sources were quiet
	// Settle is the settle window that applied at this poll and Rule which
	// rule chose it (--settle as given, or the default's: 0 once the
	// balancer stopped sending and its arrivals stayed still, else a window
	// and what drain assumed).
	Settle *Seconds `json:"settle_s,omitempty"`
	Rule   string   `json:"settle_rule,omitempty"`

	// The longest requests still executing (IIS), on slow polls and at timeout.
	Requests     []Request `json:"requests,omitempty"`
	RequestCount int       `json:"request_count,omitempty"` // all of them, not only those listed

	Action     string `json:"action,omitempty"`
	ActionExit *int   `json:"action_exit_code,omitempty"`

	Result   string `json:"result,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Error    string `json:"error,omitempty"`

	// Hint is advice for a person with the result's error (shown by the
	// human sinks, not part of the NDJSON events).
	Hint string `json:"-"`
}

// Reading is one source's value in a poll. Value is nil when unknown.
type Reading struct {
	Source    string   `json:"source"` // the spec, as always
	Value     *float64 `json:"value"`
	Threshold float64  `json:"threshold"`
	OK        bool     `json:"ok"` // known and at/below the threshold
	Error     string   `json:"error,omitempty"`
	Note      string   `json:"note,omitempty"` // e.g. "absent, counted as 0: ..."
	Name      string   `json:"name,omitempty"` // the short name people see (--source NAME=SPEC, or derived); last, after the fields older readers know
	// Total is the requests the source has counted in all (a
	// source.Totaler: HAProxy's stot, a Prometheus counter), and Arrived
	// how many of them came since the last poll, when both are known.
	Total   *float64 `json:"total,omitempty"`
	Arrived *float64 `json:"arrived,omitempty"`
}

// Request is one request still executing in the server being drained: the
// one request type, source.Request, listed by a source.RequestLister.
type Request = source.Request

// Seconds is a duration that renders as fractional seconds in JSON.
type Seconds float64

func secs(d time.Duration) Seconds { return Seconds(float64(d.Milliseconds()) / 1000) }

func secsPtr(d time.Duration) *Seconds { s := secs(d); return &s }

func boolPtr(b bool) *bool { return &b }

func intPtr(i int) *int { return &i }

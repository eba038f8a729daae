package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/state"
)

// The fleet view: 'drain status --pool TYPE:TARGET' lists every server of a
// load balancer's pool as the balancer sees it, with what drain recorded
// about the ones it took out.

// poolReport is what 'drain status --pool' shows, also as its JSON object.
type poolReport struct {
	Time       time.Time `json:"time"`
	Event      string    `json:"event"` // "pool"
	Target     string    `json:"target"`
	Pool       string    `json:"pool,omitempty"` // the balancer's name for it
	InRotation int       `json:"in_rotation"`
	Members    []poolRow `json:"members"`
	Error      string    `json:"error,omitempty"`
}

// poolRow is one server: the balancer's view and, when drain changed it,
// drain's record of who, since when and why.
type poolRow struct {
	rotation.Member
	Drain *poolChange `json:"drain,omitempty"`
}

// poolChange is where drain changed a server (the local record).
type poolChange struct {
	From    string    `json:"from"` // record (this machine) or etcd
	By      string    `json:"by,omitempty"`
	Since   time.Time `json:"since"`
	Why     string    `json:"why,omitempty"`
	Command string    `json:"command,omitempty"` // out or run
	Phase   string    `json:"phase,omitempty"`
	PID     int       `json:"pid,omitempty"`
	Running *bool     `json:"running,omitempty"` // for a record left mid-run
	Record  string    `json:"record,omitempty"`  // the record's key
}

const poolFlagHelp = "show every server of a load balancer's pool instead: TYPE:TARGET, the rotation target without the server (haproxy:ADDR#BACKEND), or a method target whose balancer lists its pool"

func addPoolFlag(cmd *cobra.Command) {
	// status --pool is not the key pool (a budget's pool view, run's and
	// out's): the flag is its own. Its --lock is the key lock
	// (commandSpecs): with --pool, who took each server out on any machine
	// is read from the pool locks' records in etcd.
	cmd.Flags().Var(&metaString{meta: "TYPE:TARGET"}, "pool", poolFlagHelp)
}

// lockNeedsPool refuses status --lock without --pool. A lock from the
// environment or a config file shared with run and out is not an error.
func lockNeedsPool(c *cobra.Command) error {
	if c.Flags().Changed("lock") {
		return usageErr("add --pool TYPE:TARGET (e.g. haproxy:/run/haproxy/admin.sock#web)", "status --lock reads a pool's records: it needs --pool")
	}
	return nil
}

// poolSpec is --pool as config parsed it, nil when status was not given
// the flag (a DRAIN_POOL or pool: for run and out is not a request for the
// pool view).
func poolSpec(c *cobra.Command, cfg *config.Config) *rotation.Spec {
	if !c.Flags().Changed("pool") {
		return nil
	}
	return cfg.Pool
}

// runStatusPool is 'drain status --pool'. A pool that cannot be read is
// exit 1 (the report says why); a bad --pool is exit 2.
func runStatusPool(c *cobra.Command, ios *iostreams.IOStreams, cfg *config.Config, spec rotation.Spec) error {
	if len(cfg.Rotation) > 0 || len(cfg.Sources) > 0 {
		return usageErr("run 'drain status --pool' on its own, or 'drain status' without --pool", "--pool lists a whole pool: it does not take --rotate, --keepalive, --haproxy or --source")
	}
	client, err := httpClient(cfg)
	if err != nil {
		return err
	}
	view, err := rotation.NewPoolOf(spec, rotation.Options{Client: client, Timeout: cfg.ReadTimeout * 2, Getenv: os.Getenv})
	if err != nil {
		return err // a usage error with the type's hint
	}
	store := state.Store{Dir: cfg.StateDir}
	if cfg.StateDir == "" {
		var ue *state.UnsafeDirError
		if store, err = state.DefaultStore(); errors.As(err, &ue) {
			return &exitError{code: drain.ExitError, err: err, hint: ue.Hint()}
		} else if err != nil {
			return err
		}
	}
	src := poolSources{view: view, store: store, client: client}
	src.etcd = cfg.EtcdEndpoints
	if len(src.etcd) > 0 {
		if src.id = poolID(view); src.id == "" {
			return usageErr("drop --lock, or give a pool target (haproxy:ADDR#BACKEND)", "--pool %s: this pool has no pool-lock name to find its etcd records by", redact.String(spec.String()))
		}
	}
	code := drain.ExitOK
	for {
		rep := collectPool(c.Context(), src)
		if rep.Error != "" {
			code = drain.ExitError
		}
		if cfg.JSON {
			_ = sink.WriteJSON(ios.Out, rep)
		} else {
			if cfg.Watch && ios.IsStdoutTTY() {
				fmt.Fprint(ios.Out, "\033[H\033[2J")
			}
			printPool(ios, sanitizePool(rep))
		}
		if !cfg.Watch {
			break
		}
		select {
		case <-c.Context().Done():
			return nil
		case <-time.After(cfg.Interval):
		}
	}
	if code != drain.ExitOK {
		return &exitError{code: code, reported: true}
	}
	return nil
}

// poolSources are where the pool view reads: the balancer, this machine's
// records, and etcd's out records when endpoints are given.
type poolSources struct {
	view   rotation.PoolView
	store  state.Store
	client *http.Client
	etcd   []string // endpoints
	id     string   // the pool as the pool locks name it
}

func collectPool(ctx context.Context, src poolSources) poolReport {
	view, store := src.view, src.store
	rep := poolReport{Time: time.Now(), Event: "pool", Target: redact.String(view.Target()), Members: []poolRow{}}
	p, err := view.Pool(ctx)
	if err != nil {
		rep.Error = redact.String(err.Error())
		return rep
	}
	rep.Pool = p.Name
	var outs map[string]etcdOut
	if len(src.etcd) > 0 {
		if outs, err = etcdOuts(ctx, src.client, src.etcd, src.id); err != nil {
			rep.Error = redact.String(err.Error())
		}
	}
	listed := store.Listed() // the directories read once, not a file opened per member
	for _, m := range p.Members {
		row := poolRow{Member: m}
		if m.InRotation {
			rep.InRotation++
		}
		if key := view.MemberKey(m); key != "" && listed(key) {
			if r, err := store.Load(key); err == nil && r != nil {
				row.Drain = changeOf(r, key)
			}
		}
		if o, ok := outs[m.Name]; ok {
			row.Drain = changeFromEtcd(o) // every machine's, newer than a local record
		}
		rep.Members = append(rep.Members, row)
	}
	return rep
}

func changeOf(r *state.Record, key string) *poolChange {
	ch := &poolChange{From: "record", By: r.By, Since: r.Since, Why: r.Reason, Command: r.Command, Phase: string(r.Phase), PID: r.PID, Record: redact.String(key)}
	if r.Phase != state.PhaseDone && r.Phase != state.PhaseOut {
		running := r.Running()
		ch.Running = &running
	}
	return ch
}

// printPool writes the table through one buffer: tabwriter writes each
// cell and each run of padding on its own, a write call apiece on an
// unbuffered stdout (75 000 at 5000 servers).
func printPool(ios *iostreams.IOStreams, rep poolReport) {
	w := bufio.NewWriterSize(ios.Out, 64<<10)
	defer func() { _ = w.Flush() }()
	green, yellow, red := ios.OutColor(colorGreen...), ios.OutColor(colorYellow...), ios.OutColor(colorRed...)
	if rep.Error != "" {
		fmt.Fprintf(w, "%s %s\n", red("error:"), rep.Error)
		if len(rep.Members) == 0 {
			return
		}
	}
	fmt.Fprintf(w, "pool %s  %s  %d of %d in rotation\n", rep.Pool, rep.Target, rep.InRotation, len(rep.Members))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVER\tROTATION\tADMIN\tHEALTH\tSESSIONS\tQUEUE\tDRAIN")
	for _, m := range rep.Members {
		name := m.Name
		if m.Self {
			name += " (this)"
		}
		// Colours go around padded words: tabwriter counts the escape
		// codes as width, the same on every row of a column.
		rot := green("IN ")
		if !m.InRotation {
			rot = yellow("OUT")
			if m.Why != "" { // not out by its admin state or health: say why
				rot += " (" + m.Why + ")"
			}
		}
		health := m.Health
		if health == rotation.HealthDown {
			health = red(health)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, rot, m.Admin, health, optNum(m.Sessions), optNum(m.Queue), describeChange(m.Drain))
	}
	_ = tw.Flush()
}

func optNum(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// describeChange is the DRAIN column: who took the server out, how long
// ago, why; "-" when drain has no record of it.
func describeChange(ch *poolChange) string {
	if ch == nil {
		return "-"
	}
	s := fmt.Sprintf("%s by %s %s ago (%s)", cmpOr(ch.Command, "out"), cmpOr(ch.By, "?"), time.Since(ch.Since).Round(time.Second), ch.Since.Local().Format(time.DateTime))
	if ch.Why != "" {
		s += fmt.Sprintf(": %q", ch.Why)
	}
	if ch.Phase != "" && ch.Phase != string(state.PhaseOut) {
		s += ", phase " + ch.Phase
		if ch.Running != nil && !*ch.Running {
			s += fmt.Sprintf(" (pid %d gone)", ch.PID)
		}
	}
	return s
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

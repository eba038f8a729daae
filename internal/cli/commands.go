package cli

import (
	"github.com/spf13/cobra"
)

// The four drain commands: one constructor each, sharing drainCmd's flags
// and run (and through it the plan, rotation, source and action builders).

func newRunCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run [flags] [-- ACTION ARGS...]",
		Short: "Out of rotation, wait until drained, then run the action",
		Long: `Take the server out of rotation, wait until every source has stayed at or
below its threshold for --settle (and --lb-grace has passed since out), then
run the action. The action is an argv after -- (no shell unless --shell).

The action can also be a built-in that checks the current state first
("already stopped") and waits until the change has taken effect:
` + builtinTable() + `
If the wait fails or is interrupted before the action runs, the server is put
back into rotation unless --keep-out. Once the action has run (or failed) the
server stays OUT; 'drain in' puts it back. The last line says where it stands.
` + exitStatus("run"),
		Example: `  drain run --keepalive /var/www/keepalive.htm \
    --verify-url http://127.0.0.1/keepalive.htm --lb-grace 6s \
    --source 'nginx:http://127.0.0.1/nginx_status' -- systemctl stop myapp

  drain run --keepalive C:\inetpub\wwwroot\keepalive.htm --source 'prom:http://127.0.0.1:9182/metrics#windows_iis_worker_current_requests<=1' -- recycle-apppool MyPool`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 && c.ArgsLenAtDash() != 0 {
				return usageErr("put the action after --: drain run [flags] -- COMMAND ARGS", "unexpected argument %q", args[0])
			}
			return nil
		},
	}
	drainCmd(f, cmd, runOptions())
	addReportFlag(cmd)
	return cmd
}

func newOutCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "out [flags]",
		Short: "Take the server out of rotation only",
		Long: `Take the server out of rotation by every rotation method given, all or
none: rename the keep-alive page (or write --down-content into it), drain
the server in the balancer, ...; and record what changed, so that 'drain in'
can undo it even after a crash. With --verify-url, wait until that URL stops
answering 2xx (up to --timeout). Running it twice is fine.

Rotation methods (--rotate TYPE:TARGET): ` + rotationTypeList() + `; the
shorthands --keepalive PATH and --haproxy ADDR#BACKEND/SERVER.
` + exitStatus("out"),
		Args: noArgs,
	}
	return drainCmd(f, cmd, outOptions())
}

func newInCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "in [flags]",
		Short: "Put the server back into rotation",
		Long: `Put the server back into rotation, undoing exactly what 'out' recorded for
each rotation method (the keep-alive page's original name or bytes, each
balancer's state from before). With
--warm-up URL, first request each URL until it answers 2xx --warm-up-count
times (a server that does not warm within --timeout is left out: exit 3).
With --wait-healthy, then wait until --verify-url answers 2xx and the load
balancer itself reports the server up and in rotation from a check made
after the in (methods with a pool view, --pool, an haproxy: source:
HAProxy's check UP, weight above 0), up to --timeout; exit 3 if not, the
server IN. Running it twice is fine. A keep-alive page in content mode that
no longer holds the down content (a deploy rewrote it) is left as it is
(exit 1) unless --force-restore.

Rotation methods (--rotate TYPE:TARGET): ` + rotationTypeList() + `; the
shorthands --keepalive PATH and --haproxy ADDR#BACKEND/SERVER.

Without rotation flags it puts back the server drain has a record of on
this machine (drain status lists them), saying what it undoes; when there
are several it lists them and changes nothing (exit 2): name one, or give
--all to undo every one. It never prompts.
` + exitStatus("in"),
		Args: noArgs,
	}
	cmd.Flags().Bool("all", false, "without rotation flags: put back every server drain has a record of on this machine")
	return drainCmd(f, cmd, inOptions())
}

func newWaitCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wait [flags]",
		Short: "Wait until drained; no rotation change, no action",
		Long: `Wait until every source has stayed at or below its threshold for --settle and
at least --lb-grace has passed. Nothing is changed.
` + exitStatus("wait"),
		Args: noArgs,
	}
	return drainCmd(f, cmd, waitOptions())
}

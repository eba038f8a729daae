package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/redact"
)

func newConfigCmd(f *Factory) *cobra.Command {
	ios := f.IOStreams
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a config file, or show the effective settings and where each came from",
		Long: `Settings come from flags, then DRAIN_* environment variables (DRAIN_LB_GRACE
for --lb-grace; several sources in DRAIN_SOURCE one per line), then the YAML
config file given by --config or DRAIN_CONFIG, then the machine's config
file when it exists (/etc/drain/drain.yaml; on Windows
%ProgramData%\drain\drain.yaml), then defaults. 'config show' names the
files read, the state directory records and locks go to, and the rotation:
settings.

Config file keys are the flag names:

  keepalive: C:\inetpub\wwwroot\keepalive.htm
  verify-url: http://127.0.0.1/keepalive.htm
  lb-grace: 10s
  settle: 5s
  source:
    - prom:http://127.0.0.1:9182/metrics#windows_iis_worker_current_requests{app="Default"}
  action: [iisreset, /stop]
` + exitStatus("config"),
	}
	load := func(c *cobra.Command, args []string) (*config.Config, error) {
		return f.loadConfig(c, args)
	}
	validate := &cobra.Command{
		Use:   "validate [flags] [-- ACTION ARGS...]",
		Short: "Check the config file and settings; exit 2 with the first problem",
		Long: `Check the config file and the settings (flags, DRAIN_* variables, the
machine's and the user's config files) as run, out, in and wait would load
them, and every --source; print FILE: ok, or the first problem (exit 2).
` + exitStatus("config validate"),
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := load(c, args)
			if err != nil {
				return err
			}
			if _, err := buildSources(cfg); err != nil {
				return err
			}
			where := "settings"
			if cfg.File != "" {
				where = cfg.File
			}
			fmt.Fprintf(ios.Out, "%s: ok\n", where)
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show [flags] [-- ACTION ARGS...]",
		Short: "Show every effective setting and where it came from",
		Long: `Show the config files read, the state directory, the rotation: settings
and every effective setting with where it came from (flag, DRAIN_*
variable, file, default). --output json prints them as one object.
` + exitStatus("config show"),
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := load(c, args)
			if err != nil {
				return err
			}
			files, stateDir := showWhere(f, cfg)
			if cfg.JSON {
				// Keys in snake_case, as the events of --output json
				// (lb_grace, from, value). Rule: which rule chooses a
				// default that follows the situation (settle, interval).
				type shown struct {
					From  string `json:"from"`
					Value string `json:"value"`
					Rule  string `json:"rule,omitempty"`
				}
				out := map[string]any{}
				for _, k := range config.Keys {
					o := cfg.Origins[k.Name]
					out[strings.ReplaceAll(k.Name, "-", "_")] = shown{o.From, o.Value, timingRule(cfg, k.Name)}
				}
				if o, ok := cfg.Origins["authorization"]; ok {
					out["credentials"] = shown{From: o.From, Value: o.Value}
				}
				out["config_files"] = files
				out["state_dir_resolved"] = stateDir
				if len(cfg.RotationSettings) > 0 {
					out[config.RotationKey] = cfg.RotationSettings
				}
				return json.NewEncoder(ios.Out).Encode(out)
			}
			fmt.Fprintln(ios.Out, "config files:")
			for _, fl := range files {
				fmt.Fprintf(ios.Out, "  %s\n", fl)
			}
			fmt.Fprintf(ios.Out, "state directory: %s (%s)\n", stateDir.Dir, stateDir.From)
			for _, d := range stateDir.Old {
				fmt.Fprintf(ios.Out, "  also read: %s\n", d)
			}
			if stateDir.Error != "" {
				fmt.Fprintf(ios.Out, "  error: %s\n", stateDir.Error)
			}
			if len(cfg.RotationSettings) > 0 {
				fmt.Fprintln(ios.Out, "rotation:")
				types := make([]string, 0, len(cfg.RotationSettings))
				for t := range cfg.RotationSettings {
					types = append(types, t)
				}
				sort.Strings(types)
				for _, t := range types {
					b, _ := json.Marshal(cfg.RotationSettings[t])
					fmt.Fprintf(ios.Out, "  %s: %s\n", t, sanitize(redact.String(string(b))))
				}
			}
			fmt.Fprintln(ios.Out)
			tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVALUE\tFROM")
			for _, k := range config.Keys {
				o := cfg.Origins[k.Name]
				v := strings.ReplaceAll(o.Value, "\n", " | ")
				if v == "" {
					v = "-"
				}
				from := o.From
				if r := timingRule(cfg, k.Name); r != "" {
					from += " (" + r + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Name, v, from)
			}
			if o, ok := cfg.Origins["authorization"]; ok {
				fmt.Fprintf(tw, "credentials\t(hidden)\t%s\n", o.From)
			}
			return tw.Flush()
		},
	}
	addSpecFlags(validate, "config validate")
	addSpecFlags(show, "config show")
	cmd.AddCommand(validate, show)
	return cmd
}

// resolvedStateDir is where records and locks go with these settings.
type resolvedStateDir struct {
	Dir   string   `json:"dir"`
	From  string   `json:"from"`          // --state-dir (where it came from), machine-wide, per-user
	Old   []string `json:"old,omitempty"` // also read by status and in
	Error string   `json:"error,omitempty"`
}

// showWhere is what config show says of where settings and state live: the
// config files (each read, or looked for and absent) and the state
// directory.
func showWhere(f *Factory, cfg *config.Config) ([]string, resolvedStateDir) {
	var files []string
	if f.SystemConfig != "" && !slices.Contains(cfg.Files, f.SystemConfig) {
		files = append(files, f.SystemConfig+" (machine; not present)")
	}
	for _, fl := range cfg.Files {
		what := "user, --config or DRAIN_CONFIG"
		if fl == f.SystemConfig && fl != cfg.File {
			what = "machine"
		}
		files = append(files, fmt.Sprintf("%s (%s)", fl, what))
	}
	if cfg.File == "" {
		files = append(files, "no user file (--config FILE or DRAIN_CONFIG)")
	}
	var sd resolvedStateDir
	if cfg.StateDir != "" {
		sd.Dir, sd.From = cfg.StateDir, cfg.Origins["state-dir"].From
		return files, sd
	}
	store, dirs, err := recordStore(cfg)
	if err != nil {
		sd.Error = redact.String(err.Error())
	}
	sd.Dir, sd.From = store.Dir, "per-user"
	if store.Machine {
		sd.From = "machine-wide"
	}
	for _, d := range dirs {
		if d != store.Dir {
			sd.Old = append(sd.Old, d)
		}
	}
	return files, sd
}

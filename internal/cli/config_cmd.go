package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/iostreams"
)

func newConfigCmd(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a config file, or show the effective settings and where each came from",
		Long: `Settings come from flags, then DRAIN_* environment variables (DRAIN_LB_GRACE
for --lb-grace; several sources in DRAIN_SOURCE one per line), then the YAML
config file given by --config or DRAIN_CONFIG, then defaults.

Config file keys are the flag names:

  keepalive: C:\inetpub\wwwroot\keepalive.htm
  verify-url: http://127.0.0.1/keepalive.htm
  lb-grace: 10s
  settle: 5s
  source:
    - prom:http://127.0.0.1:9182/metrics#windows_iis_worker_current_requests{app="Default"}
  action: [iisreset, /stop]
`,
	}
	var all []string
	for _, k := range config.Keys {
		all = append(all, k.Name)
	}
	load := func(c *cobra.Command, args []string) (*config.Config, error) {
		configFile, _ := c.Flags().GetString("config")
		return config.Load(c.Flags(), args, configFile, nil)
	}
	validate := &cobra.Command{
		Use:   "validate [flags] [-- ACTION ARGS...]",
		Short: "Check the config file and settings; exit 2 with the first problem",
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
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := load(c, args)
			if err != nil {
				return err
			}
			if cfg.JSON {
				// Rule: which rule chooses a default that follows the
				// situation (settle, interval).
				type shown struct {
					From, Value string
					Rule        string `json:",omitempty"`
				}
				out := map[string]shown{}
				for _, k := range config.Keys {
					o := cfg.Origins[k.Name]
					out[k.Name] = shown{o.From, o.Value, timingRule(cfg, k.Name)}
				}
				if o, ok := cfg.Origins["authorization"]; ok {
					out["credentials"] = shown{From: o.From, Value: o.Value}
				}
				return json.NewEncoder(ios.Out).Encode(out)
			}
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
	for _, c := range []*cobra.Command{validate, show} {
		config.AddFlags(c.Flags(), all...)
	}
	cmd.AddCommand(validate, show)
	return cmd
}

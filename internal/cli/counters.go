package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/source"
)

func newCountersCmd(f *Factory) *cobra.Command {
	ios := f.IOStreams
	var url string
	cmd := &cobra.Command{
		Use:   "counters [FILTER]",
		Short: "List the counters and metrics a source can wait on",
		Long: `List what --source can wait on, so that a source is picked rather than
guessed. On Windows: the performance objects, counters and instances of this
machine whose object or counter name contains FILTER (case-insensitive), as
pdh: specs, then the presets that fit the local IIS (iis:POOL for each app
pool with a worker process, aspnet:SITE and aspnet-sessions:SITE for each
site, state-server if the ASP.NET State Service runs here).

With --url (any OS): the metric names on that Prometheus page that contain
FILTER, as prom: specs.
` + exitStatus("counters"),
		Example: `  drain counters w3svc
  drain counters "ASP.NET"
  drain counters --url http://127.0.0.1:9182/metrics iis`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			if url != "" {
				return listMetrics(c, ios, url, filter)
			}
			return listCounters(f, filter)
		},
	}
	cmd.Flags().Var(&metaString{p: &url, meta: "URL"}, "url", "list the metrics of the Prometheus page at URL instead")
	return cmd
}

func listMetrics(c *cobra.Command, ios *iostreams.IOStreams, url, filter string) error {
	ms, err := source.PromMetrics(c.Context(), url, filter, 10*time.Second)
	if err != nil {
		return fmt.Errorf("read %s: %w", url, err)
	}
	if len(ms) == 0 {
		return fmt.Errorf("no metric on %s has a name containing %q", url, filter)
	}
	for _, m := range ms {
		fmt.Fprintf(ios.Out, "prom:%s#%s\t%s, %d series\t%s\n", url, sanitize(m.Name), sanitize(m.Type), m.Series, sink.SanitizeLine(m.Help))
	}
	return nil
}

package testbed

import (
	"fmt"
	"strings"
)

// PromPage returns a Prometheus metrics page of at least n series: gauges of 100 series
// and, one family in ten, a histogram, with http_requests_in_flight (10
// series) in the middle: the page the Prometheus benchmarks read
// (internal/source's BenchmarkProm, scripts/bench's series part).
func PromPage(n int) []byte {
	var b strings.Builder
	series := 0
	for f := 0; series < n; f++ {
		if f == n/200 {
			b.WriteString("# HELP http_requests_in_flight In-flight requests.\n# TYPE http_requests_in_flight gauge\n")
			for i := range 10 {
				fmt.Fprintf(&b, "http_requests_in_flight{handler=\"/h%d\",method=\"GET\"} %d\n", i, i%3)
			}
			series += 10
		}
		name := fmt.Sprintf("app_metric_%d", f)
		if f%10 == 0 {
			fmt.Fprintf(&b, "# HELP %s_seconds A histogram.\n# TYPE %s_seconds histogram\n", name, name)
			for i := range 16 {
				for _, le := range []string{"0.1", "1", "10", "+Inf"} {
					fmt.Fprintf(&b, "%s_seconds_bucket{instance=\"i%d\",le=\"%s\"} %d\n", name, i, le, i)
				}
				fmt.Fprintf(&b, "%s_seconds_sum{instance=\"i%d\"} %d.5\n%s_seconds_count{instance=\"i%d\"} %d\n", name, i, i, name, i, i)
			}
			series += 16 * 6
			continue
		}
		fmt.Fprintf(&b, "# HELP %s A gauge.\n# TYPE %s gauge\n", name, name)
		for i := range 100 {
			fmt.Fprintf(&b, "%s{instance=\"i%d\",path=\"/some/path/%d\"} %d\n", name, i, i, i)
		}
		series += 100
	}
	return []byte(b.String())
}

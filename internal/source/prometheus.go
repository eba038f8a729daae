package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/drain-cli/drain/internal/suggest"
)

func init() {
	Register(Type{
		Name: "prom", Syntax: "URL#SELECTOR", Example: `prom:http://127.0.0.1:9100/metrics#http_requests_in_flight{handler="/api"}`,
		Summary:     "the sum of the matching series of a Prometheus page (#total=COUNTER adds arrivals)",
		DefaultName: promName, New: newProm,
	})
}

// promAccept asks for the classic text format, the only one parsed here.
const promAccept = "text/plain;version=0.0.4"

// promSource sums the series of a Prometheus metrics page that a selector
// matches.
type promSource struct {
	url   string
	sel   selector
	total *selector // #total=COUNTER: the requests served in all (total.go)
	opts  Options
	lastTotal
}

func newProm(target string, opts Options) (Source, error) {
	target, totalText, hasTotal := cutTotal(target)
	rawURL, text, err := splitTarget(target, "SELECTOR", `http://host:9100/metrics#http_requests_in_flight{handler="/api"}`)
	if err != nil {
		return nil, err
	}
	sel, err := parseSelector(text)
	if err != nil {
		return nil, err
	}
	s := &promSource{url: rawURL, sel: sel, opts: opts}
	if hasTotal {
		t, err := parseSelector(totalText)
		if err != nil {
			return nil, fmt.Errorf("#total=%s: %w", totalText, err)
		}
		s.total = &t
	}
	return s, nil
}

func (s *promSource) Read(ctx context.Context) (float64, error) {
	body, err := fetch(ctx, s.opts, s.url, promAccept)
	if err != nil {
		return 0, err
	}
	v, err := s.sel.value(body)
	if err != nil || s.total == nil {
		return v, err
	}
	// The total comes from the same page: a counter the user named must be
	// there, or the source is unknown (a mistyped name must not silently
	// turn the check off).
	t, err := s.total.value(body)
	if err != nil {
		return 0, fmt.Errorf("total: %w", err)
	}
	s.set(t, true)
	return v, nil
}

// value sums the series of body (a text-format metrics page) that s matches.
// No matching series is an error, never 0: a mistyped label must not look
// like an idle server.
func (s selector) value(body []byte) (float64, error) {
	// Lines that cannot hold a matching series are left out before
	// parsing when the selector says what they must contain: 1 series of a
	// family of 10,000 then costs a parse of 1, not of 10,000. Anything but
	// a clean match (no series, a parse error) is read again from every
	// line of the metric, so errors say what they said before.
	if needles := s.needles(); len(needles) > 0 {
		if v, err := s.valueOf(body, needles); err == nil {
			return v, nil
		}
	}
	return s.valueOf(body, nil)
}

// needles are texts every line of a matching series contains: the quoted
// value of each label="value" matcher whose value the text format writes
// as it is (no backslash, quote or line break; not empty, which matches a
// missing label).
func (s selector) needles() [][]byte {
	var out [][]byte
	for _, m := range s.matchers {
		if m.op == "=" && m.value != "" && !strings.ContainsAny(m.value, "\\\"\n") {
			out = append(out, []byte(`"`+m.value+`"`))
		}
	}
	return out
}

// valueOf parses the lines of the metric, and of those only the samples
// holding every needle, and sums the series s matches.
func (s selector) valueOf(body []byte, needles [][]byte) (float64, error) {
	kept, lineNos := s.relevantLines(body, needles)
	fams, err := parseFamilies(kept)
	if err != nil {
		var pe expfmt.ParseError
		if errors.As(err, &pe) {
			if pe.Line >= 1 && pe.Line <= len(lineNos) {
				return 0, fmt.Errorf("metrics page line %d: %s", lineNos[pe.Line-1], pe.Msg)
			}
			return 0, fmt.Errorf("metrics page: %s", pe.Msg)
		}
		return 0, err
	}
	return s.sum(fams, body)
}

func parseFamilies(body []byte) (map[string]*dto.MetricFamily, error) {
	// A zero TextParser panics (prometheus/common >= v0.66).
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("metrics page: %w", err)
	}
	return fams, nil
}

// sum adds up the series in fams that s matches; body is the whole page,
// searched for similar names when the metric is missing.
func (s selector) sum(fams map[string]*dto.MetricFamily, body []byte) (float64, error) {
	var named []sample // every series called s.name
	bases := metricBases(s.name)
	for _, f := range bases[:min(2, len(bases))] {
		if fam := fams[f]; fam != nil {
			named = appendSamples(named, fam, s.name)
		}
	}
	if len(named) == 0 {
		return 0, noMetricError(s.name, body)
	}
	total, n := 0.0, 0
	for _, smp := range named {
		if !s.matches(smp) {
			continue
		}
		// Each series must be a count: a -5 next to a 5 must not sum to 0.
		if err := countError(smp.value); err != nil {
			return 0, fmt.Errorf("series %s %w", smp, err)
		}
		total += smp.value
		n++
	}
	if n == 0 {
		return 0, s.noMatchError(named)
	}
	return finite(total)
}

func (s selector) matches(smp sample) bool {
	for _, m := range s.matchers {
		if !m.matches(smp.label(m.label)) {
			return false
		}
	}
	return true
}

// noMatchError says which values the selector's labels do have, as a hint.
func (s selector) noMatchError(named []sample) error {
	var b strings.Builder
	fmt.Fprintf(&b, "no series matches %s", s)
	var done []string
	for _, m := range s.matchers {
		if slices.Contains(done, m.label) {
			continue
		}
		done = append(done, m.label)
		var vals []string
		for _, smp := range named {
			if v := smp.label(m.label); v != "" && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			fmt.Fprintf(&b, "; no %s series has label %s", s.name, m.label)
			continue
		}
		slices.Sort(vals)
		const show = 10
		for i, v := range vals[:min(show, len(vals))] {
			vals[i] = strconv.Quote(v)
		}
		fmt.Fprintf(&b, "; %s has: %s", m.label, strings.Join(vals[:min(show, len(vals))], ", "))
		if len(vals) > show {
			fmt.Fprintf(&b, " and %d more", len(vals)-show)
		}
	}
	return errors.New(b.String())
}

// sample is one series as it appears on the page: summaries and histograms
// are split back into their conventional name{quantile=...}, name_sum,
// name_count and name_bucket{le=...} series.
type sample struct {
	name   string
	labels []*dto.LabelPair
	// extra is the quantile or le label, which the parser keeps apart.
	extra, extraValue string
	value             float64
}

// label returns the value of a label, "" if the series does not have it.
func (smp sample) label(name string) string {
	if smp.extra != "" && name == smp.extra {
		return smp.extraValue
	}
	for _, l := range smp.labels {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func (smp sample) String() string {
	var parts []string
	for _, l := range smp.labels {
		parts = append(parts, l.GetName()+"="+strconv.Quote(l.GetValue()))
	}
	if smp.extra != "" {
		parts = append(parts, smp.extra+"="+strconv.Quote(smp.extraValue))
	}
	if len(parts) == 0 {
		return smp.name
	}
	return smp.name + "{" + strings.Join(parts, ",") + "}"
}

// appendSamples appends the series of fam named want. A _sum or _count the
// page did not give is left out rather than read as 0.
func appendSamples(dst []sample, fam *dto.MetricFamily, want string) []sample {
	name := fam.GetName()
	for _, m := range fam.GetMetric() {
		add := func(v float64, extra, extraValue string) {
			dst = append(dst, sample{name: want, labels: m.GetLabel(), extra: extra, extraValue: extraValue, value: v})
		}
		switch fam.GetType() {
		case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
			if want != name {
				continue
			}
			switch {
			case m.Counter != nil:
				add(m.Counter.GetValue(), "", "")
			case m.Gauge != nil:
				add(m.Gauge.GetValue(), "", "")
			case m.Untyped != nil:
				add(m.Untyped.GetValue(), "", "")
			}
		case dto.MetricType_SUMMARY:
			sm := m.GetSummary()
			switch want {
			case name:
				for _, q := range sm.GetQuantile() {
					add(q.GetValue(), model.QuantileLabel, formatLabelFloat(q.GetQuantile()))
				}
			case name + "_sum":
				if sm.SampleSum != nil {
					add(sm.GetSampleSum(), "", "")
				}
			case name + "_count":
				if sm.SampleCount != nil {
					add(float64(sm.GetSampleCount()), "", "")
				}
			}
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			switch want {
			case name + "_bucket":
				for _, b := range h.GetBucket() {
					v := float64(b.GetCumulativeCount())
					if b.CumulativeCountFloat != nil {
						v = b.GetCumulativeCountFloat()
					}
					add(v, model.BucketLabel, formatLabelFloat(b.GetUpperBound()))
				}
			case name + "_sum":
				if h.SampleSum != nil {
					add(h.GetSampleSum(), "", "")
				}
			case name + "_count":
				switch {
				case h.SampleCountFloat != nil:
					add(h.GetSampleCountFloat(), "", "")
				case h.SampleCount != nil:
					add(float64(h.GetSampleCount()), "", "")
				}
			}
		}
	}
	return dst
}

// formatLabelFloat writes a quantile or le value the way client libraries
// expose it ("0.5", "1", "+Inf").
func formatLabelFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64) // also "-Inf", "NaN"
}

// noMetricError says that no series is called name, naming a few similar
// metrics of the page if there are any.
func noMetricError(name string, body []byte) error {
	var names []string
	seen := map[string]bool{}
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line = body[:i+1]
		}
		body = body[len(line):]
		if i := skipBlanks(line, 0); i < len(line) && line[i] == '#' {
			continue
		}
		if n, _ := lineMetricName(line); n != nil && !seen[string(n)] {
			seen[string(n)] = true
			names = append(names, string(n))
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("no metric named %s: the page has no metrics", name)
	}
	if similar := suggest.Similar(name, names, 3); len(similar) > 0 {
		return fmt.Errorf("no metric named %s (similar: %s)", name, strings.Join(similar, ", "))
	}
	return fmt.Errorf("no metric named %s", name)
}

// promName is the metric and its labels, quotes dropped.
func promName(t string) string {
	if _, sel, ok := strings.Cut(t, "#"); ok && strings.TrimSpace(sel) != "" {
		return strings.Join(strings.Fields(strings.ReplaceAll(sel, `"`, "")), " ")
	}
	return ""
}

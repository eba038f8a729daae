package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/drain-cli/drain/internal/suggest"
)

func init() { register("prom", newProm) }

// promAccept asks for the classic text format, the only one parsed here.
const promAccept = "text/plain;version=0.0.4"

// promSource sums the series of a Prometheus metrics page that a selector
// matches.
type promSource struct {
	url  string
	sel  selector
	opts Options
}

func newProm(target string, opts Options) (Source, error) {
	rawURL, text, err := splitTarget(target, "SELECTOR", `http://host:9100/metrics#http_requests_in_flight{handler="/api"}`)
	if err != nil {
		return nil, err
	}
	sel, err := parseSelector(text)
	if err != nil {
		return nil, err
	}
	return &promSource{url: rawURL, sel: sel, opts: opts}, nil
}

func (s *promSource) Read(ctx context.Context) (float64, error) {
	body, err := fetch(ctx, s.opts, s.url, promAccept)
	if err != nil {
		return 0, err
	}
	return s.sel.value(body)
}

// selector is a PromQL-style instant vector selector: a metric name and
// label matchers, e.g. http_requests_in_flight{handler=~"/api/.*"}.
type selector struct {
	name     string
	matchers []matcher
}

type matcher struct {
	label string
	op    string // "=", "!=", "=~" or "!~"
	value string
	re    *regexp.Regexp // anchored, for =~ and !~
}

// matches reports whether a label value satisfies m. As in PromQL, a label a
// series does not have has the value "".
func (m matcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default: // "!~"
		return !m.re.MatchString(v)
	}
}

func (m matcher) String() string { return m.label + m.op + strconv.Quote(m.value) }

func (s selector) String() string {
	if len(s.matchers) == 0 {
		return s.name
	}
	var b strings.Builder
	b.WriteString(s.name)
	b.WriteByte('{')
	for i, m := range s.matchers {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	return b.String()
}

// parseSelector parses metric_name or metric_name{label OP "value", ...}
// with OP one of =, !=, =~, !~. Values are quoted as in PromQL: "..." or
// '...' with Go escapes, or `...` raw. Regular expressions are anchored at
// both ends, as in PromQL.
func parseSelector(text string) (selector, error) {
	p := selParser{s: text}
	p.skipSpace()
	name := p.ident(true)
	if name == "" {
		switch {
		case p.eof():
			return selector{}, errors.New(`empty selector; want metric_name or metric_name{label="value"}`)
		case p.peek() == '{':
			return selector{}, errors.New("selector needs a metric name before '{'")
		default:
			return selector{}, fmt.Errorf("selector must start with a metric name, found %q", p.rest())
		}
	}
	sel := selector{name: name}
	p.skipSpace()
	if p.eof() {
		return sel, nil
	}
	if p.peek() != '{' {
		return selector{}, fmt.Errorf("unexpected %q after metric name %s", p.rest(), name)
	}
	p.pos++
	for {
		p.skipSpace()
		if p.eof() {
			return selector{}, errors.New("selector is missing its closing '}'")
		}
		if p.peek() == '}' { // also accepts {} and a trailing comma, as PromQL does
			p.pos++
			break
		}
		m, err := p.matcher()
		if err != nil {
			return selector{}, err
		}
		sel.matchers = append(sel.matchers, m)
		p.skipSpace()
		if p.peek() == ',' {
			p.pos++
		} else if p.peek() != '}' {
			if p.eof() {
				return selector{}, errors.New("selector is missing its closing '}'")
			}
			return selector{}, fmt.Errorf("expected ',' or '}' after %s, found %q", m, p.rest())
		}
	}
	p.skipSpace()
	if !p.eof() {
		return selector{}, fmt.Errorf("unexpected %q after '}'", p.rest())
	}
	return sel, nil
}

// selParser is the cursor of parseSelector.
type selParser struct {
	s   string
	pos int
}

func (p *selParser) eof() bool { return p.pos >= len(p.s) }

// peek returns the next byte, or 0 at the end.
func (p *selParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

// rest returns the unparsed text, shortened for an error message.
func (p *selParser) rest() string { return clip(p.s[p.pos:], 20) }

func (p *selParser) skipSpace() {
	for !p.eof() && strings.IndexByte(" \t\r\n", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

// ident reads a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, if metric is
// false, a label name (the same without ':').
func (p *selParser) ident(metric bool) string {
	start := p.pos
	for !p.eof() {
		c := p.s[p.pos]
		ok := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
			p.pos > start && '0' <= c && c <= '9' || metric && c == ':'
		if !ok {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *selParser) matcher() (matcher, error) {
	label := p.ident(false)
	if label == "" {
		return matcher{}, fmt.Errorf("expected a label name, found %q", p.rest())
	}
	if label == model.MetricNameLabel {
		return matcher{}, fmt.Errorf("label %s is not supported; put the metric name before '{'", label)
	}
	p.skipSpace()
	var op string
	for _, o := range []string{"=~", "!~", "!=", "="} {
		if strings.HasPrefix(p.s[p.pos:], o) {
			op = o
			break
		}
	}
	if op == "" {
		return matcher{}, fmt.Errorf("expected =, !=, =~ or !~ after label %s, found %q", label, p.rest())
	}
	p.pos += len(op)
	p.skipSpace()
	value, err := p.quoted()
	if err != nil {
		return matcher{}, fmt.Errorf("value of label %s: %w", label, err)
	}
	m := matcher{label: label, op: op, value: value}
	if op == "=~" || op == "!~" {
		// Check the expression alone first: wrapped, an unbalanced one like
		// "a)|(b" would compile to something unanchored.
		if _, err := syntax.Parse(value, syntax.Perl); err != nil {
			return matcher{}, fmt.Errorf("bad regexp for label %s: %w", label, err)
		}
		// (?s) lets '.' match a newline, as in PromQL.
		if m.re, err = regexp.Compile("^(?s:" + value + ")$"); err != nil {
			return matcher{}, fmt.Errorf("bad regexp for label %s: %w", label, err)
		}
	}
	return m, nil
}

// quoted reads a "double", 'single' or `raw` quoted string.
func (p *selParser) quoted() (string, error) {
	q := p.peek()
	switch q {
	case '`':
		end := strings.IndexByte(p.s[p.pos+1:], '`')
		if end < 0 {
			return "", errors.New("unterminated string")
		}
		v := p.s[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return v, nil
	case '"', '\'':
		p.pos++
		var b []byte
		for {
			if p.eof() {
				return "", errors.New("unterminated string")
			}
			if p.s[p.pos] == q {
				p.pos++
				return string(b), nil
			}
			r, multibyte, tail, err := strconv.UnquoteChar(p.s[p.pos:], q)
			if err != nil { // only a backslash sequence can fail here
				_, size := utf8.DecodeRuneInString(p.s[p.pos+1:])
				return "", fmt.Errorf("bad escape %q", p.s[p.pos:p.pos+1+size])
			}
			if multibyte {
				b = utf8.AppendRune(b, r)
			} else {
				b = append(b, byte(r)) // a byte, which \xff may make non-UTF-8
			}
			p.pos = len(p.s) - len(tail)
		}
	default:
		return "", fmt.Errorf("expected a quoted value, found %q", p.rest())
	}
}

// value sums the series of body (a text-format metrics page) that s matches.
// No matching series is an error, never 0: a mistyped label must not look
// like an idle server.
func (s selector) value(body []byte) (float64, error) {
	kept, lineNos := s.relevantLines(body)
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

// metricBases returns name and the names it has after stripping a _sum,
// _count or _bucket suffix, repeatedly: a_count_sum, a_count, a. The series
// called name can only come from the families named by the first two; the
// rest decide, in the text parser, which family a line joins.
func metricBases(name string) []string {
	out := []string{name}
	for {
		base := name
		for _, suffix := range []string{"_count", "_sum", "_bucket"} {
			if len(name) > len(suffix) && strings.HasSuffix(name, suffix) {
				base = name[:len(name)-len(suffix)]
				break
			}
		}
		if base == name {
			return out
		}
		out = append(out, base)
		name = base
	}
}

// relevantLines returns the lines of body the parser needs to produce every
// series called s.name, and the line number in body of each kept line.
//
// Parsing a page of tens of thousands of series costs far more than scanning
// it, and a selector needs one metric. The text parser decides which family a
// line named N joins from the families N and N less a _sum/_count/_bucket
// suffix; so keeping every line (sample, # HELP or # TYPE) whose name is one
// of metricBases(s.name), or is one of them plus such a suffix, gives those
// families exactly as the whole page would. Blank lines and other comments
// are dropped; a line whose name cannot be read cheaply (quoted UTF-8 names,
// garbage) is kept, for the parser to judge. A broken line of another
// metric is therefore not an error.
func (s selector) relevantLines(body []byte) (kept []byte, lineNos []int) {
	bases := metricBases(s.name)
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line = body[:i+1]
		}
		body = body[len(line):]
		name, known := lineMetricName(line)
		if known && (name == nil || !relevantName(name, bases)) {
			continue
		}
		kept = append(kept, line...)
		lineNos = append(lineNos, n)
	}
	return kept, lineNos
}

// relevantName reports whether name is one of bases, or one of them plus a
// _sum, _count or _bucket suffix.
func relevantName(name []byte, bases []string) bool {
	for _, b := range bases {
		if len(name) < len(b) || string(name[:len(b)]) != b {
			continue
		}
		switch string(name[len(b):]) {
		case "", "_sum", "_count", "_bucket":
			return true
		}
	}
	return false
}

// lineMetricName returns the metric name a text-format line is about,
// reading it as the text parser does. It returns (nil, true) for a line
// about no metric (blank, or a comment other than # HELP and # TYPE), and
// (nil, false) when the name is not a plain one.
func lineMetricName(line []byte) (name []byte, known bool) {
	i := skipBlanks(line, 0)
	if i == len(line) || line[i] == '\n' {
		return nil, true
	}
	if line[i] == '#' {
		i = skipBlanks(line, i+1)
		start := i
		for i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != '\n' {
			i++
		}
		if kw := string(line[start:i]); kw != "HELP" && kw != "TYPE" {
			return nil, true
		}
		i = skipBlanks(line, i)
	}
	start := i
	for i < len(line) && isMetricNameByte(line[i], i > start) {
		i++
	}
	// A '"' right after the name would make the parser read a quoted part
	// into it: leave such lines to the parser.
	if i == start || i < len(line) && line[i] == '"' {
		return nil, false
	}
	return line[start:i], true
}

func skipBlanks(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

func isMetricNameByte(c byte, notFirst bool) bool {
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || notFirst && '0' <= c && c <= '9'
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

package source

import (
	"bytes"
	"strings"
)

// The page filter of a prom: source: the lines of a metrics page a
// selector needs, found by scanning so that a large page is not parsed whole.

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
//
// With needles, a sample line (not a comment) of the metric is kept only
// when it contains every needle.
func (s selector) relevantLines(body []byte, needles [][]byte) (kept []byte, lineNos []int) {
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
		if i := skipBlanks(line, 0); len(needles) > 0 && i < len(line) && line[i] != '#' && !containsAll(line, needles) {
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

func containsAll(line []byte, needles [][]byte) bool {
	for _, n := range needles {
		if !bytes.Contains(line, n) {
			return false
		}
	}
	return true
}

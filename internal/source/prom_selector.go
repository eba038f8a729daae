package source

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// The selector of a prom: source (metric{label OP "value", ...}), parsed
// from the text after # in its target.

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

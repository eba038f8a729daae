// Package untrusted makes text that comes from outside drain (balancer
// replies, metric labels and values, status pages, records in a shared
// directory or in etcd, --reason, action output that drain quotes) safe to
// show: on a terminal, in a CI log, in a Markdown table, in JSON. It is the
// one place that knows what is dangerous; the sinks, the status output and
// the reports call it.
//
// What a CI log reads as a command:
//
//   - Azure Pipelines runs a logging command that starts ANYWHERE in a line
//     (azure-pipelines-agent, Command.TryParse: IndexOf("##vso[")), and
//     GitHub's runner still parses the old "##[command]" form anywhere too
//     (actions/runner, ActionCommand.TryParse: IndexOf("##[")).
//   - GitHub's runner runs a workflow command when a line starts with "::"
//     after leading white space (ActionCommand.TryParseV2: TrimStart).
//
// The .NET agents compare with the culture's rules, which skip
// zero-width and other format characters ("#\u200b#vso[" may match), so
// those are escaped as well.
package untrusted

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Text makes s safe to print: control characters other than newline and
// tab, stray bytes and format characters are shown escaped (\x1b, \r,
// \u200b) instead of driving a terminal; "##vso[" and "##[" are broken as
// "#\#vso[" and "#\#[" wherever they are; a line that starts with "::"
// (after white space) gets a backslash before it. Newlines stay: Text is
// for fields that may hold several lines (an action's last output). Text of
// Text is Text.
func Text(s string) string {
	return lineStarts(breakHashes(escape(s)))
}

// Line is Text for a field that is one line on every output (a reason, a
// name, a command line, a label value): line breaks become spaces.
func Line(s string) string {
	if strings.IndexByte(s, '\n') < 0 {
		return Text(s) // the common case: nothing to replace
	}
	return Text(lineBreaks.Replace(s))
}

// lineBreaks is built once: a Replacer builds its tables on first use, which
// cost more than the replacing (Line runs for every field of every event).
var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ")

// Safe tells whether a line of output holds nothing a CI runner would take
// as a command: no "##vso[" (any case) or "##[", no "::" at its start
// after white space. Drain's own CI sinks write such lines on purpose;
// every other line of drain's output is Safe.
func Safe(line string) bool {
	return !strings.Contains(strings.ToLower(line), "##vso[") && !strings.Contains(line, "##[") &&
		!strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::")
}

// escape shows control characters, stray bytes and format characters
// escaped.
func escape(s string) string {
	if !strings.ContainsFunc(s, mustEscape) && utf8.ValidString(s) {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n") // Windows line ends are not an attack
	var b strings.Builder
	for len(s) > 0 {
		c, n := utf8.DecodeRuneInString(s)
		switch {
		case c == utf8.RuneError && n == 1: // a stray byte, maybe a raw C1 control
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case IsControl(c):
			q := strconv.QuoteRune(c)
			b.WriteString(q[1 : len(q)-1])
		case IsFormat(c) && c > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, c)
		case IsFormat(c):
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

func mustEscape(c rune) bool { return IsControl(c) || IsFormat(c) }

// IsControl is a control character that can drive a terminal.
func IsControl(c rune) bool {
	return c != '\n' && c != '\t' && (c < 0x20 || c == 0x7f || IsC1(c))
}

// IsC1 is a C1 control character (U+0080-U+009F).
func IsC1(c rune) bool { return c >= 0x80 && c <= 0x9f }

// IsFormat is an invisible format character (zero-width space and joiners,
// soft hyphen, direction marks and overrides, BOM): a comparison by the
// culture's rules skips it, and a terminal shows text reordered by it.
func IsFormat(c rune) bool { return c > 0x7f && unicode.Is(unicode.Cf, c) }

// breakHashes puts a backslash between the two '#' of every "##[" and
// "##vso[" (any case).
func breakHashes(s string) string {
	if !strings.Contains(s, "##") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == '#' && i+1 < len(s) && s[i+1] == '#' && commandAfter(s[i+2:]) {
			b.WriteByte('\\')
		}
	}
	return b.String()
}

// commandAfter tells whether rest follows "##" in a CI command.
func commandAfter(rest string) bool {
	return strings.HasPrefix(rest, "[") || len(rest) >= 4 && strings.EqualFold(rest[:4], "vso[")
}

// lineStarts puts a backslash before "::" at the start of any line of s
// (after white space).
func lineStarts(s string) string {
	if !strings.Contains(s, "::") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		rest := strings.TrimLeftFunc(l, unicode.IsSpace)
		if strings.HasPrefix(rest, "::") {
			lines[i] = l[:len(l)-len(rest)] + `\` + rest
		}
	}
	return strings.Join(lines, "\n")
}

// JSON makes encoded JSON (one value, as json.Marshal writes it) safe to
// write as a line of a log without changing what it decodes to: C1
// controls and format characters, which encoding/json leaves raw, are
// written as \u escapes, and so is every '#' that follows a '#' (so
// "##vso[" is "#\u0023vso["). A '#' can only be inside a string in JSON.
func JSON(b []byte) []byte {
	s := string(b)
	if !strings.Contains(s, "##") && !strings.ContainsFunc(s, func(c rune) bool { return IsC1(c) || IsFormat(c) }) {
		return b
	}
	var sb strings.Builder
	prev := rune(0)
	for _, c := range s {
		switch {
		case IsFormat(c) && c > 0xffff: // JSON escapes UTF-16 units
			r1, r2 := utf16.EncodeRune(c)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, r1, r2)
		case IsC1(c) || IsFormat(c) || c == '#' && prev == '#':
			fmt.Fprintf(&sb, `\u%04x`, c)
		default:
			sb.WriteRune(c)
		}
		prev = c
	}
	return []byte(sb.String())
}

// MDCell is outside text in a cell of a GFM table: one line, made safe by
// Line, Markdown's own characters escaped so that it is shown as written
// (no code span, emphasis, link or HTML) and its pipes escaped so that it
// stays in its cell.
func MDCell(s string) string {
	return mdCell.Replace(Line(s))
}

var mdCell = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`, "|", `\|`, "<", "&lt;", ">", "&gt;")

// MDCode is outside text as inline code in a cell of a GFM table, shown as
// written: fenced with more backticks than it holds in a row, its pipes
// escaped (GFM reads "\|" as a pipe inside a table cell, code spans
// included). "" stays "".
func MDCode(s string) string {
	s = Line(s)
	if s == "" {
		return ""
	}
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	s = codePipes(s)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") {
		s = " " + s + " " // GFM strips one space on each side
	}
	return fence + s + fence
}

// codePipes escapes the pipes of code in a table cell. GFM (cmark-gfm's
// table scanner) reads a backslash and the character after it as a pair,
// and ends the cell at a pipe that no pair took: a pipe is kept in its cell
// when an odd number of backslashes stands before it. The cell's
// unescaping then drops one of them, so an even run before a pipe (none,
// most often) shows as written and an odd one shows one backslash more.
func codePipes(s string) string {
	if !strings.Contains(s, "|") {
		return s
	}
	var b strings.Builder
	run := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			run++
		case '|':
			b.WriteByte('\\')
			if run%2 == 1 {
				b.WriteByte('\\')
			}
			run = 0
		default:
			run = 0
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

package untrusted

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain /api/v1", "plain /api/v1"},
		{"/##vso[task.setvariable variable=X]evil", `/#\#vso[task.setvariable variable=X]evil`},
		{"##VSO[task.complete]", `#\#VSO[task.complete]`},
		{"##[error]x", `#\#[error]x`},
		{"###[x", `##\#[x`},
		{"# ## #vso[", "# ## #vso["}, // nothing a runner reads
		{"#\u200b#vso[x]", `#\u200b#vso[x]`},
		{"#\U000e0001#vso[x]", `#\U000e0001#vso[x]`}, // a format character beyond the BMP (a language tag)
		{"a\n::warning::x", "a\n\\::warning::x"},
		{"::error::x", `\::error::x`},
		{"a\n \t::error::x", "a\n \t\\::error::x"},
		{"a\u00a0::x", "a\u00a0::x"}, // not at a line start
		{"\u00a0::x::y", "\u00a0\\::x::y"},
		{"\x1b[2J\r", `\x1b[2J\r`},
		{"a\r\n::b", "a\n\\::b"},
		{"a\r::b", `a\r::b`}, // a CR is shown, so the line does not start there
		{"\xff\x9b", `\xff\x9b`},
	} {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLine(t *testing.T) {
	if got, want := Line("deploy v2\n::warning::pwned\r\n##vso[x]"), `deploy v2 ::warning::pwned #\#vso[x]`; got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
	if got, want := Line("\n::x::y"), ` \::x::y`; got != want { // the field may start a line
		t.Errorf("Line = %q, want %q", got, want)
	}
}

func TestMarkdownCells(t *testing.T) {
	for _, c := range []struct{ in, cell, code string }{
		{"/api|/web", `/api\|/web`, "`/api\\|/web`"},
		{"a`b", "a\\`b", "``a`b``"},
		{"`x`", "\\`x\\`", "`` `x` ``"},
		{`a\|b`, `a\\\|b`, "`a\\\\\\|b`"}, // one backslash more in code: see codePipes
		{"a\nb", "a b", "`a b`"},
		{"<b>*x*</b> [l](u)", `&lt;b&gt;\*x\*&lt;/b&gt; \[l\](u)`, "`<b>*x*</b> [l](u)`"},
		{"", "", ""},
	} {
		if got := MDCell(c.in); got != c.cell {
			t.Errorf("MDCell(%q) = %q, want %q", c.in, got, c.cell)
		}
		if got := MDCode(c.in); got != c.code {
			t.Errorf("MDCode(%q) = %q, want %q", c.in, got, c.code)
		}
	}
}

// cells splits a GFM table row as cmark-gfm's scanner does: a backslash
// and the next character are a pair; a pipe no pair took ends a cell.
func cells(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n
}

// FuzzTableCell: whatever a source's name or error holds, its cell is one
// cell of one line, and safe in a log.
func FuzzTableCell(f *testing.F) {
	f.Add("/api|/web")
	f.Add(`a\|b\\|c` + "`|")
	f.Add("x\n|y|\r\n::z")
	f.Fuzz(func(t *testing.T, s string) {
		for name, cell := range map[string]string{"MDCell": MDCell(s), "MDCode": MDCode(s)} {
			row := "| " + cell + " | 1 |"
			if strings.ContainsAny(cell, "\r\n") || cells(row) != 3 {
				t.Fatalf("%s(%q) = %q breaks its row %q", name, s, cell, row)
			}
			if !Safe(row) {
				t.Fatalf("%s(%q) = %q is a CI command", name, s, cell)
			}
		}
	})
}

// FuzzJSON: JSON written through JSON decodes to what it held, and no line
// of it is a CI command; Text is safe and stays Text.
func FuzzJSON(f *testing.F) {
	f.Add("/##vso[task.setvariable variable=X]evil")
	f.Add("###[x\u200b#\u0085")
	f.Add("#\U000e0001#vso[\U0001d173")
	f.Add("\n::warning::x")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.Marshal(map[string]string{"v": s})
		if err != nil {
			t.Skip()
		}
		out := JSON(b)
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("JSON(%s) = %s: not JSON: %v", b, out, err)
		}
		if back["v"] != strings.ToValidUTF8(s, "\uFFFD") && utf8.ValidString(s) {
			t.Fatalf("JSON changed %q to %q", s, back["v"])
		}
		if strings.Contains(string(out), "\n") || !Safe(string(out)) {
			t.Fatalf("JSON(%q) = %s is a CI command", s, out)
		}
		txt := Text(s)
		for _, l := range strings.Split(txt, "\n") {
			if !Safe(l) {
				t.Fatalf("Text(%q) = %q: line %q is a CI command", s, txt, l)
			}
		}
		if Text(txt) != txt {
			t.Fatalf("Text(%q) = %q, but Text of that is %q", s, txt, Text(txt))
		}
	})
}

package iostreams

import "testing"

func TestColorWanted(t *testing.T) {
	cases := []struct {
		noColor, force, term string
		tty, want            bool
	}{
		{tty: true, term: "xterm", want: true},
		{tty: false, term: "xterm", want: false},
		{noColor: "1", tty: true, term: "xterm", want: false},
		{noColor: "1", force: "1", tty: true, want: false},
		{force: "1", tty: false, want: true},
		{force: "0", tty: false, want: false},
		{tty: true, term: "dumb", want: false},
	}
	for _, c := range cases {
		t.Setenv("NO_COLOR", c.noColor)
		t.Setenv("CLICOLOR_FORCE", c.force)
		t.Setenv("TERM", c.term)
		if got := colorWanted(c.tty); got != c.want {
			t.Errorf("NO_COLOR=%q CLICOLOR_FORCE=%q TERM=%q tty=%v: colour %v, want %v", c.noColor, c.force, c.term, c.tty, got, c.want)
		}
	}
}

// Package iostreams owns stdin/stdout/stderr and the terminal and colour
// decisions for them. Nothing else in drain writes to the process streams.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"golang.org/x/term"
)

// IOStreams holds the process streams and what they are connected to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	outTTY, errTTY     bool
	redraw             bool // stderr can take cursor movement (see CanRedraw)
	outColor, errColor bool
	errFd              uintptr
	size               func() (int, int)
}

// System returns the streams of this process, with terminal and colour
// decisions taken from the environment (NO_COLOR, CLICOLOR_FORCE, TERM=dumb).
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, errFd: os.Stderr.Fd()}
	s.outTTY = isTerminal(os.Stdout)
	s.errTTY = isTerminal(os.Stderr)
	s.redraw = s.errTTY && os.Getenv("TERM") != "dumb" && enableVT(os.Stderr)
	s.outColor = colorWanted(s.outTTY)
	s.errColor = colorWanted(s.errTTY)
	return s
}

// Test returns streams backed by buffers, as a pipeline would see them.
func Test() (s *IOStreams, out, errOut *bytes.Buffer) {
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut}, out, errOut
}

// SetTTY pretends both output streams are terminals (for tests).
func (s *IOStreams) SetTTY(tty, colour bool) {
	s.outTTY, s.errTTY = tty, tty
	s.redraw = tty
	s.outColor, s.errColor = colour, colour
}

// CanRedraw reports whether stderr is a terminal that takes cursor movement,
// so that a live view can be redrawn in place: not TERM=dumb, and on
// Windows a console that accepts virtual-terminal sequences (turned on
// here; a console that refuses them gets plain lines instead of escapes).
func (s *IOStreams) CanRedraw() bool { return s.redraw }

// IsStderrTTY reports whether progress can be drawn as a live line.
func (s *IOStreams) IsStderrTTY() bool { return s.errTTY }

// ErrWidth is the width of the stderr terminal in columns (80 when unknown),
// so a live line can be cut to fit instead of wrapping.
func (s *IOStreams) ErrWidth() int {
	w, _ := s.ErrSize()
	return w
}

// ErrSize is the size of the stderr terminal, columns and rows (80x24 when
// unknown, or what SetSize set), read anew on every call: a terminal can be
// resized while drain runs.
func (s *IOStreams) ErrSize() (width, height int) {
	if s.size != nil {
		return s.size()
	}
	if s.errTTY && s.errFd != 0 {
		if w, h, err := term.GetSize(int(s.errFd)); err == nil && w > 0 && h > 0 {
			return w, h
		}
	}
	return 80, 24
}

// SetSize makes ErrSize report what size returns (for tests).
func (s *IOStreams) SetSize(size func() (width, height int)) { s.size = size }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.outTTY }

// Palette holds colour functions named by meaning, so that every part of
// drain colours the same thing the same way. Each is a no-op when colour is
// off for its stream.
type Palette struct {
	Good  func(string) string // drained, done, green
	Bad   func(string) string // failed, timed out, red
	Warn  func(string) string // warnings, yellow
	Muted func(string) string // secondary text: countdowns, column heads
	In    func(string) string // the server is IN rotation
	Out   func(string) string // the server is OUT of rotation
}

// Colors is the palette for stderr, where progress and messages go.
func (s *IOStreams) Colors() Palette { return palette(s.errColor) }

// OutColors is the palette for stdout (the final line).
func (s *IOStreams) OutColors() Palette { return palette(s.outColor) }

func palette(enabled bool) Palette {
	return Palette{
		Good:  colorFunc(enabled, []color.Attribute{color.FgGreen, color.Bold}),
		Bad:   colorFunc(enabled, []color.Attribute{color.FgRed, color.Bold}),
		Warn:  colorFunc(enabled, []color.Attribute{color.FgYellow, color.Bold}),
		Muted: colorFunc(enabled, []color.Attribute{color.Faint}),
		In:    colorFunc(enabled, []color.Attribute{color.FgGreen, color.Bold}),
		Out:   colorFunc(enabled, []color.Attribute{color.FgYellow, color.Bold}),
	}
}

// ErrColor returns a colour function for stderr: a no-op when colour is off.
func (s *IOStreams) ErrColor(attrs ...color.Attribute) func(string) string {
	return colorFunc(s.errColor, attrs)
}

// OutColor returns a colour function for stdout.
func (s *IOStreams) OutColor(attrs ...color.Attribute) func(string) string {
	return colorFunc(s.outColor, attrs)
}

func colorFunc(enabled bool, attrs []color.Attribute) func(string) string {
	if !enabled {
		return func(s string) string { return s }
	}
	c := color.New(attrs...)
	c.EnableColor() // decided per stream here, not by fatih/color's global stdout check
	return func(s string) string { return c.Sprint(s) }
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func colorWanted(tty bool) bool {
	if os.Getenv("NO_COLOR") != "" { // no-color.org: set and non-empty
		return false
	}
	if v := os.Getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	return tty && os.Getenv("TERM") != "dumb"
}

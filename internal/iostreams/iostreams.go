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
	outColor, errColor bool
	errFd              uintptr
}

// System returns the streams of this process, with terminal and colour
// decisions taken from the environment (NO_COLOR, CLICOLOR_FORCE, TERM=dumb).
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, errFd: os.Stderr.Fd()}
	s.outTTY = isTerminal(os.Stdout)
	s.errTTY = isTerminal(os.Stderr)
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
	s.outColor, s.errColor = colour, colour
}

// IsStderrTTY reports whether progress can be drawn as a live line.
func (s *IOStreams) IsStderrTTY() bool { return s.errTTY }

// ErrWidth is the width of the stderr terminal in columns (80 when unknown),
// so a live line can be cut to fit instead of wrapping.
func (s *IOStreams) ErrWidth() int {
	if s.errTTY && s.errFd != 0 {
		if w, _, err := term.GetSize(int(s.errFd)); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.outTTY }

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

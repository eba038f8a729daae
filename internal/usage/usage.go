// Package usage is drain's one type of bad-input error: what was given
// (the flag or setting and its value), what is wrong, and how to fix it.
// It is built once, where the problem is found, by the package that knows
// the syntax (config, rotation, source, budget, cli); the CLI renders it in
// one place (internal/cli: the problem on one line, the hint on the next,
// exit code 2, "nothing was changed") and never edits its text.
package usage

import (
	"errors"
	"fmt"
)

// Err matches every usage error: errors.Is(err, usage.Err).
var Err = errors.New("usage")

// Error is bad input found before anything changed.
type Error struct {
	// Flag names where the value came from: a flag ("--pool"), a setting
	// ("config file rotation.exec"); "" when the message says it.
	Flag string
	// Spec is the value as given (never with a secret: the maker redacts
	// it); "" when there is none to show.
	Spec string
	// Msg says what is wrong; when "", the cause's text does.
	Msg string
	// Hint says how to fix it (one line, no "hint:").
	Hint string
	// Err is the cause, when another error found the problem.
	Err error
}

// Error is the problem on one line: FLAG "SPEC": MSG.
func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	switch {
	case e.Flag != "" && e.Spec != "":
		return fmt.Sprintf("%s %q: %s", e.Flag, e.Spec, msg)
	case e.Flag != "":
		return e.Flag + ": " + msg
	case e.Spec != "":
		return fmt.Sprintf("%q: %s", e.Spec, msg)
	}
	return msg
}

// Is makes every Error match Err.
func (e *Error) Is(target error) bool { return target == Err }

// Unwrap is the cause.
func (e *Error) Unwrap() error { return e.Err }

// New is a usage error with a hint; format is fmt.Errorf's (%w keeps a
// cause).
func New(hint, format string, a ...any) *Error {
	return &Error{Err: fmt.Errorf(format, a...), Hint: hint} // its text is the message
}

// Errorf is New without a hint yet: the one who knows the syntax adds it
// with WithHint.
func Errorf(format string, a ...any) *Error { return New("", format, a...) }

// Of is err's usage error, nil when it has none.
func Of(err error) *Error {
	var ue *Error
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}

// Hinter is an error that says what to do about it (a permission denied,
// a lock held, internal/denied), a runtime error as well as a usage one.
type Hinter interface{ Hint() string }

// HintOf is what to do about err, "" when nothing says: the first Hinter
// in its chain, else its usage error's hint. Every output shows this one.
func HintOf(err error) string {
	var h Hinter
	if errors.As(err, &h) {
		if s := h.Hint(); s != "" {
			return s
		}
	}
	if ue := Of(err); ue != nil {
		return ue.Hint
	}
	return ""
}

// WithHint makes err a usage error with hint, its text unchanged: an
// Error without a hint gets this one (a copy: the caller's stays as it
// was), one with a hint keeps its own (the maker knew better), any other
// error becomes the cause of a new Error. nil stays nil.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	if top, ok := err.(*Error); ok { //nolint:errorlint // the error itself, not one it wraps
		if top.Hint != "" || hint == "" {
			return err
		}
		c := *top
		c.Hint = hint
		return &c
	}
	if ue := Of(err); ue != nil {
		if ue.Hint != "" || hint == "" {
			return err
		}
		// A usage error deeper in the chain: its text is the whole
		// chain's, so keep the chain and carry the hint beside it.
		return &Error{Err: err, Hint: hint}
	}
	return &Error{Err: err, Hint: hint}
}

// Package redact hides credentials in text before drain shows, logs or
// records it: the user info of every URL (scheme://USER:PASSWORD@host).
//
// It works on the text, not through url.Parse, so that it also hides the
// password of a URL that does not parse: one with a space in it, an
// unencoded '@' or '/', or one quoted inside an error message. Use String on
// anything that may hold a URL given by the user (a source spec, a verify
// URL, a reason, an error message) before it reaches a terminal, a JSON
// event, a log or a state file.
package redact

import "strings"

// Mask replaces the whole user info: a user name alone can be a token.
const Mask = "xxxxx"

// String returns s with the user info of every URL in it replaced by Mask:
// "http://user:p@ss@host/x" becomes "http://xxxxx@host/x". Text without
// "://" and "@" is returned as is. String is idempotent.
func String(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	rest, changed := s, false
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		b.WriteString(rest[:i+3])
		rest = rest[i+3:]
		if n := userinfoLen(rest); n >= 0 {
			b.WriteString(Mask)
			rest = rest[n:] // from the '@' on
			changed = true
		}
	}
	if !changed {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// userinfoLen returns the length of the user info at the start of auth, the
// text right after "://", or -1 if it has none.
//
// The authority ends at the first '/', '?', '#' or line break, and the user
// info at the last '@' before that: a password may hold an unencoded '@' or
// space, never silently a '/' (which url.Parse too takes for the path).
// Yet "user:pa/ss@host" is taken as user info as well: what comes before the
// '/' is NAME:TEXT with a TEXT that is no port number, so it cannot be a
// host; its user info then ends at the last '@' before a blank or the next
// "://".
func userinfoLen(auth string) int {
	end := strings.IndexAny(auth, "/?#\r\n")
	if end < 0 {
		end = len(auth)
	}
	if at := strings.LastIndexByte(auth[:end], '@'); at >= 0 {
		if at == 0 {
			return -1 // "://@host": nothing to hide
		}
		return at
	}
	head := auth[:end]
	c := strings.LastIndexByte(head, ':')
	if c < 0 || strings.ContainsAny(head, "[] \t\"'<>") || isPort(head[c+1:]) {
		return -1
	}
	stop := len(auth)
	if i := strings.IndexAny(auth, " \t\r\n\"'<>"); i >= 0 {
		stop = i
	}
	if i := strings.Index(auth, "://"); i >= 0 && i < stop {
		stop = i
	}
	at := strings.LastIndexByte(auth[:stop], '@')
	if at < end {
		return -1
	}
	// From that '@' the ordinary rule applies again, so that redacting the
	// result changes nothing more.
	if n := userinfoLen(auth[at+1:]); n >= 0 && !strings.Contains(auth[at+1:at+1+n], "://") {
		at += 1 + n
	}
	return at
}

// isPort reports whether s is empty or all digits: what follows a host's ':'.
func isPort(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

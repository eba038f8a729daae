// Package redact hides credentials in text before drain shows, logs or
// records it: the user info of every URL (scheme://USER:PASSWORD@host) and
// the value of every query parameter whose name says it is a secret
// (?token=, ?api_key=, a presigned URL's X-Amz-Signature).
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

// String returns s with the user info of every URL in it replaced by Mask,
// and the values of its secret query parameters too:
// "http://user:p@ss@host/x?token=t" becomes "http://xxxxx@host/x?token=xxxxx".
// Text without "://" is returned as is. String is idempotent.
func String(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return querySecrets(userinfo(s))
}

// userinfo masks the user info of every URL in s.
func userinfo(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return eachURL(s, func(auth string) (string, int, bool) {
		n := userinfoLen(auth)
		if n < 0 {
			return "", 0, false
		}
		return Mask, n, true // the rest goes on from the '@'
	})
}

// eachURL rewrites s after each "://": fn is given the text that follows
// and returns what to write instead of its first n bytes, and whether that
// changed anything (n 0: nothing replaced). s is returned as it is when
// nothing changed.
func eachURL(s string, fn func(after string) (repl string, n int, changed bool)) string {
	var b strings.Builder
	rest, changed := s, false
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		b.WriteString(rest[:i+3])
		rest = rest[i+3:]
		if repl, n, ch := fn(rest); n > 0 {
			b.WriteString(repl)
			rest = rest[n:]
			changed = changed || ch
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

// querySecrets masks the value of each query parameter of a URL in s whose
// name says it holds a secret (secretName). A URL's query runs from its
// first '?' to a blank, a quote, '<', '>', a '#' or the next "://".
func querySecrets(s string) string {
	return eachURL(s, func(after string) (string, int, bool) {
		end := strings.IndexAny(after, " \t\r\n\"'<>#`")
		if end < 0 {
			end = len(after)
		}
		if j := strings.Index(after[:end], "://"); j >= 0 {
			end = j
		}
		q := strings.IndexByte(after[:end], '?')
		if q < 0 {
			return "", 0, false
		}
		masked, ch := maskParams(after[q+1 : end])
		return after[:q+1] + masked, end, ch
	})
}

// maskParams masks the secret values of a query ("a=1&token=t;b=2").
func maskParams(q string) (string, bool) {
	var b strings.Builder
	changed := false
	for len(q) > 0 {
		n := strings.IndexAny(q, "&;")
		if n < 0 {
			n = len(q)
		}
		param := q[:n]
		if k, v, ok := strings.Cut(param, "="); ok && v != Mask && secretName(k) {
			param = k + "=" + Mask
			changed = true
		}
		b.WriteString(param)
		if n < len(q) {
			b.WriteByte(q[n])
			n++
		}
		q = q[n:]
	}
	return b.String(), changed
}

// secretName reports whether a query parameter's name says it holds a
// credential.
func secretName(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "key", "sig", "auth", "pass", "pwd", "code":
		return true
	}
	for _, w := range []string{"token", "secret", "password", "passwd", "apikey", "api_key", "api-key", "access_key", "signature", "credential", "authorization", "session"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

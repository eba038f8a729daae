package redact

import (
	"strings"
	"testing"
)

// FuzzString: a password in a URL never survives, whatever surrounds the
// URL and whatever the password holds (an '@', a space, a quote); redacting
// twice changes nothing more; text without a URL is left alone.
func FuzzString(f *testing.F) {
	f.Add("", "user", "secret", "host", "")
	f.Add("bad URL: parse \"", "user", "pa ss", "host:80", "\": invalid userinfo")
	f.Add("x://q:z/", "a@b", "p@ss word", "h", " c@d/e")
	f.Add("see ", "", "tok3n", "[::1]:8080", "?a=b@c#d")
	f.Add("a://", "u", "p\"w'<>", "h", "")
	f.Fuzz(func(t *testing.T, prefix, user, pass, host, suffix string) {
		for _, in := range []string{prefix, user, pass, host, suffix} {
			out := String(in)
			if String(out) != out {
				t.Fatalf("String(%q) = %q, but String of that is %q", in, out, String(out))
			}
			if !strings.Contains(in, "://") && out != in {
				t.Fatalf("String(%q) = %q changed text without a URL", in, out)
			}
		}
		if len(pass) < 3 || strings.ContainsAny(pass, Mask) || strings.ContainsAny(user+pass+host, "/?#\r\n") || strings.Contains(host, "@") {
			// A '/' and such end the authority: the URL would not be one. A
			// password of x's could be counted in the mask itself.
			return
		}
		s := prefix + "http://" + user + ":" + pass + "@" + host + "/p" + suffix
		out := String(s)
		if strings.Count(out, pass) >= strings.Count(s, pass) {
			t.Fatalf("String(%q) = %q still shows the password %q", s, out, pass)
		}
		if String(out) != out {
			t.Fatalf("String(%q) = %q, but String of that is %q", s, out, String(out))
		}
	})
}

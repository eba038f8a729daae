package redact

import "testing"

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"no url here", "no url here"},
		{"mail me@example.com", "mail me@example.com"},
		{"http://host/path", "http://host/path"},
		{"http://host:8080/a@b", "http://host:8080/a@b"},
		{"http://[::1]:8080/a@b", "http://[::1]:8080/a@b"},
		{"http://user:pass@host/x", "http://xxxxx@host/x"},
		{"http://user@host/x", "http://xxxxx@host/x"},
		{"https://token@host", "https://xxxxx@host"},
		{"nginx:http://user:pass@host/x<=1", "nginx:http://xxxxx@host/x<=1"},
		// A password with an unencoded '@' does not leak its tail.
		{"http://user:p@ss@host/x", "http://xxxxx@host/x"},
		// Nor one with a space, even quoted inside an error.
		{`bad URL: parse "http://user:pa ss@host/x": net/url: invalid userinfo`, `bad URL: parse "http://xxxxx@host/x": net/url: invalid userinfo`},
		{"http://user:pa ss@host", "http://xxxxx@host"},
		// Nor one with a '/', which url.Parse reads as the path.
		{"http://user:pa/ss@host/x", "http://xxxxx@host/x"},
		{"http://user:pa/ss@host/x then more", "http://xxxxx@host/x then more"},
		// Query, fragment, end of line end the authority.
		{"http://h?u=a@b", "http://h?u=a@b"},
		{"http://h#a@b", "http://h#a@b"},
		{"http://h\nx@y", "http://h\nx@y"},
		// Several URLs, any scheme.
		{"a https://u:p@h1/ b ftp://v:q@h2 c", "a https://xxxxx@h1/ b ftp://xxxxx@h2 c"},
		{"x://q:z/http://a@b:pa ss@host/path", "x://q:z/http://xxxxx@host/path"},
		{"HTTP://U:P@H", "HTTP://xxxxx@H"},
		{"prom:http://u:p@h/m#x{a=\"b@c\"}", "prom:http://xxxxx@h/m#x{a=\"b@c\"}"},
		// An empty user info hides nothing.
		{"http://@host/x", "http://@host/x"},
		{"prom://@0", "prom://@0"},
		// Already redacted stays as is.
		{"http://xxxxx@host/x", "http://xxxxx@host/x"},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A token in a URL's query is a credential too: exporters and balancer
// APIs take ?token=, ?api_key=, a presigned URL's X-Amz-Signature.
func TestStringQuerySecrets(t *testing.T) {
	cases := []struct{ in, want string }{
		{"http://h/metrics?token=s3cr3t", "http://h/metrics?token=xxxxx"},
		{"http://h/m?a=1&access_token=abc&b=2", "http://h/m?a=1&access_token=xxxxx&b=2"},
		{`Get "http://h/m?api_key=k3y": connection refused`, `Get "http://h/m?api_key=xxxxx": connection refused`},
		{"https://b/x?X-Amz-Credential=AK%2F1&X-Amz-Signature=ab12&X-Amz-Date=1", "https://b/x?X-Amz-Credential=xxxxx&X-Amz-Signature=xxxxx&X-Amz-Date=1"},
		{"GET http://h/m?Password=p;user=u -> 200", "GET http://h/m?Password=xxxxx;user=u -> 200"},
		{"http://u:p@h/m?secret=z#frag", "http://xxxxx@h/m?secret=xxxxx#frag"},
		// Not secrets: left as they are.
		{"http://h/m?name=web1&limit=5", "http://h/m?name=web1&limit=5"},
		{"http://h/m?monkey=1", "http://h/m?monkey=1"},
		{"no url ?token=abc", "no url ?token=abc"},
		// Already redacted stays as is.
		{"http://h/m?token=xxxxx", "http://h/m?token=xxxxx"},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/redact"
)

// fetch GETs rawURL and returns its body, bounded by opts.MaxBody. Anything
// but a 2xx answer is an error: an error page is not a metric.
func fetch(ctx context.Context, opts Options, rawURL, accept string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.ReadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, http.NoBody)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", "drain")
	if opts.Authorization != "" {
		req.Header.Set("Authorization", opts.Authorization)
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in the source name
		}
		return nil, timeoutError(err, opts.ReadTimeout)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := readBody(resp, opts.MaxBody+1)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", timeoutError(err, opts.ReadTimeout))
	}
	if int64(len(body)) > opts.MaxBody {
		return nil, fmt.Errorf("response body larger than %d bytes", opts.MaxBody)
	}
	return body, nil
}

// timeoutError replaces the several shapes a timed-out request takes (context
// deadline, Client.Timeout, net timeouts) by one plain message.
func timeoutError(err error, limit time.Duration) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("timed out after %s", limit)
	}
	return err
}

// splitTarget splits a URL#PART target (PART being a selector or a path) and
// checks the URL. A URL cannot contain a raw '#' other than the fragment
// mark, so the first one separates the two and PART may contain more.
func splitTarget(target, part, example string) (rawURL, rest string, err error) {
	rawURL, rest, _ = strings.Cut(target, "#")
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return "", "", fmt.Errorf("want URL#%s, e.g. %s", part, example)
	}
	if err := checkURL(rawURL); err != nil {
		return "", "", err
	}
	return rawURL, rest, nil
}

// checkURL validates an http(s) URL target.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL: %s", redact.String(err.Error()))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q must start with http:// or https://", redact.String(raw))
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", redact.String(raw))
	}
	return nil
}

// readBody reads at most limit bytes. With a Content-Length the buffer is
// sized once (a multi-MB Prometheus page then costs one allocation, not a
// series of regrowths); without one, io.ReadAll's growth is the better bet
// (bytes.Buffer doubles, which measured worse on chunked pages).
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	r := io.LimitReader(resp.Body, limit)
	n := resp.ContentLength
	if n <= 0 || n >= limit {
		return io.ReadAll(r)
	}
	var buf bytes.Buffer
	buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare bytes to see EOF without growing
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

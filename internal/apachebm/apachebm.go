// Package apachebm reads and changes Apache httpd's balancer-manager page
// (mod_proxy_balancer): the balancers, their workers with status flags,
// Elected and Busy counts, and the per-page nonce a change must carry.
//
// The page is HTML meant for people; it is read by its table headers, not by
// column position, so that versions which add columns (2.4 added Busy, Load)
// still parse. A change is a form POST carrying the nonce and a Referer on
// the manager's own host, or Apache ignores it and still answers 200: every
// change must be read back.
package apachebm

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Balancer is one balancer:// of the page.
type Balancer struct {
	Name    string // without balancer://
	Nonce   string
	Workers []Worker
}

// Worker is one BalancerMember row.
type Worker struct {
	URL     string
	Route   string
	Status  string   // the page's own words, e.g. "Init Drn Ok"
	Flags   []string // Status split: Init, Ign, Drn, Dis, Stop, Err, Stby, Spar, HcFl, Ok ...
	Elected *float64 // nil when the page has no such column
	Busy    *float64
}

// Has reports whether the worker's status shows flag (e.g. "Drn").
func (w Worker) Has(flag string) bool {
	for _, f := range w.Flags {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// Worker finds a worker by URL (scheme and host compared case-insensitively,
// as Apache does).
func (b Balancer) Worker(u string) (Worker, bool) {
	want := NormURL(u)
	for _, w := range b.Workers {
		if NormURL(w.URL) == want {
			return w, true
		}
	}
	return Worker{}, false
}

// WorkerURLs lists the workers' URLs.
func (b Balancer) WorkerURLs() []string {
	out := make([]string, len(b.Workers))
	for i, w := range b.Workers {
		out[i] = w.URL
	}
	return out
}

// NormURL lower-cases a worker URL's scheme and host and drops a trailing
// slash, so http://Web1:80/ and http://web1:80 compare equal.
func NormURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return strings.TrimSuffix(s, "/")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	return strings.TrimSuffix(u.String(), "/")
}

var (
	reHeading = regexp.MustCompile(`(?is)<h3>(.*?)</h3>`)
	reHref    = regexp.MustCompile(`(?i)href="([^"]*)"`)
	reTable   = regexp.MustCompile(`(?is)<table>(.*?)</table>`)
	reRow     = regexp.MustCompile(`(?is)<tr[^>]*>(.*?)</tr>`)
	reCell    = regexp.MustCompile(`(?is)<t([dh])[^>]*>(.*?)</t[dh]>`)
	reTag     = regexp.MustCompile(`(?s)<[^>]*>`)
)

// Parse reads a balancer-manager page.
func Parse(page []byte) ([]Balancer, error) {
	s := string(page)
	heads := reHeading.FindAllStringSubmatchIndex(s, -1)
	var out []Balancer
	for i, h := range heads {
		head := s[h[2]:h[3]]
		text := cellText(head)
		at := strings.Index(text, "balancer://")
		if at < 0 {
			continue
		}
		name := strings.Fields(text[at+len("balancer://"):])
		if len(name) == 0 {
			continue
		}
		b := Balancer{Name: strings.TrimSuffix(name[0], "/")}
		if m := reHref.FindStringSubmatch(head); m != nil {
			if u, err := url.Parse(html.UnescapeString(m[1])); err == nil {
				b.Nonce = u.Query().Get("nonce")
			}
		}
		end := len(s)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		for _, t := range reTable.FindAllStringSubmatch(s[h[1]:end], -1) {
			ws, ok := workerTable(t[1])
			if ok {
				b.Workers = append(b.Workers, ws...)
			}
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		if !strings.Contains(s, "Balancer Manager") && !strings.Contains(s, "Load Balancer Manager") {
			return nil, errors.New("not an Apache balancer-manager page (no balancer and no \"Load Balancer Manager\" title): is the URL's Location set to SetHandler balancer-manager?")
		}
	}
	return out, nil
}

func cellText(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(reTag.ReplaceAllString(s, " "))), " ")
}

// workerTable reads a table whose header has "Worker URL".
func workerTable(t string) ([]Worker, bool) {
	rows := reRow.FindAllStringSubmatch(t, -1)
	if len(rows) == 0 {
		return nil, false
	}
	col := map[string]int{}
	for i, c := range reCell.FindAllStringSubmatch(rows[0][1], -1) {
		col[strings.ToLower(cellText(c[2]))] = i
	}
	iu, ok := col["worker url"]
	if !ok {
		return nil, false
	}
	var out []Worker
	for _, r := range rows[1:] {
		var cells []string
		for _, c := range reCell.FindAllStringSubmatch(r[1], -1) {
			cells = append(cells, cellText(c[2]))
		}
		get := func(name string) (string, bool) {
			i, ok := col[name]
			if !ok || i >= len(cells) {
				return "", false
			}
			return cells[i], true
		}
		if iu >= len(cells) || cells[iu] == "" {
			continue
		}
		w := Worker{URL: cells[iu]}
		w.Route, _ = get("route")
		w.Status, _ = get("status")
		w.Flags = strings.Fields(w.Status)
		w.Elected = number(get("elected"))
		w.Busy = number(get("busy"))
		out = append(out, w)
	}
	return out, true
}

func number(s string, ok bool) *float64 {
	if !ok {
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) { // NaN, Inf, negative: not a count
		return nil
	}
	return &v
}

// Client talks to one balancer-manager URL.
type Client struct {
	URL  string // the page, e.g. http://lb/balancer-manager
	HTTP *http.Client
	// User and Password, when User is set, are sent as basic auth (a
	// balancer-manager is often behind it).
	User, Password string
}

// MaxPage bounds the page read: a few KiB per worker.
const MaxPage = 8 << 20

// ErrAuth marks a page the server refused (401, 403).
var ErrAuth = errors.New("refused")

// Get reads the page.
func (c *Client) Get(ctx context.Context) ([]Balancer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return nil, err
	}
	body, err := c.do(req)
	if err != nil {
		return nil, err
	}
	return Parse(body)
}

// SetFlags posts w_status_X=0/1 for each flag letter (N drain, D disabled,
// H hot standby, ...) of worker w of balancer b, with the balancer's nonce.
// Apache answers 200 even when it ignores the change: read back.
func (c *Client) SetFlags(ctx context.Context, b Balancer, worker string, flags map[string]bool) error {
	form := url.Values{}
	form.Set("b", b.Name)
	form.Set("w", worker)
	form.Set("nonce", b.Nonce)
	for k, on := range flags {
		v := "0"
		if on {
			v = "1"
		}
		form.Set("w_status_"+k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// mod_proxy_balancer ignores a POST whose Referer is not on its own
	// host (AH10187, "cross-site access"): the form's own page is.
	req.Header.Set("Referer", c.URL)
	_, err = c.do(req)
	return err
}

func (c *Client) do(req *http.Request) ([]byte, error) {
	if c.User != "" {
		req.SetBasicAuth(c.User, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPage))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Shown(c.URL), err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		hint := "set DRAIN_APACHE_USER and DRAIN_APACHE_PASSWORD"
		if c.User != "" {
			hint = "check DRAIN_APACHE_USER and DRAIN_APACHE_PASSWORD"
		}
		return nil, fmt.Errorf("%w: %s answered %s (%s, or allow this host in the Location's Require)", ErrAuth, Shown(c.URL), resp.Status, hint)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("%s answered %s", Shown(c.URL), resp.Status)
	}
	return body, nil
}

// Shown is u without user info or query, for messages.
func Shown(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "balancer-manager"
	}
	p.User = nil
	p.RawQuery = ""
	p.Fragment = ""
	return p.String()
}

package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/redact"
)

func init() {
	Register(Type{
		Name:    "nginx-upstream",
		Syntax:  "FILE#SERVER_ADDR",
		Example: "nginx-upstream:/etc/nginx/upstreams/web.conf#10.0.0.5:8080",
		Summary: "marks the server down in an open-source nginx upstream file, tests the configuration and reloads nginx gracefully",
		New:     newNginxUpstream,
	})
}

// NginxUpstream takes a server out of an open-source nginx load balancer,
// which has no runtime API and only passive health checks: out adds `down`
// to the server's line in an upstream file the balancer includes, runs the
// configuration test and reloads gracefully (old workers finish their
// requests); in puts the file's original bytes back the same way. A failed
// test changes nothing: the file gets its bytes back and nginx is not
// reloaded.
type NginxUpstream struct {
	path   string // as given
	real   string // absolute, symlinks resolved: the file rewritten
	addr   string // as given
	norm   string // normalised for comparison
	test   []string
	reload []string
	opts   Options
	notes  []string
}

// nginxUpstreamUndo is what in needs: the file's bytes before out and a
// digest of what out wrote (to see a change made since).
type nginxUpstreamUndo struct {
	File     string      `json:"file"`
	Original []byte      `json:"original"`
	Wrote    string      `json:"wrote"` // sha256 of the file after out
	Mode     fs.FileMode `json:"mode,omitempty"`
}

// ErrUpstreamChanged marks an in that found the upstream file changed since
// out: it is left as it is.
var ErrUpstreamChanged = errors.New("upstream file changed since out")

const maxUpstreamFile = 4 << 20

func newNginxUpstream(target string, opts Options) (Method, error) {
	n := &NginxUpstream{opts: opts, test: []string{"nginx", "-t"}, reload: []string{"nginx", "-s", "reload"}}
	if err := checkSettingKeys("nginx-upstream", opts.Settings, "test", "reload"); err != nil {
		return nil, err
	}
	for key, dst := range map[string]*[]string{"test": &n.test, "reload": &n.reload} {
		if v, ok := settingFold(opts.Settings, key); ok {
			argv, err := argvSetting("nginx-upstream", key, v)
			if err != nil {
				return nil, err
			}
			*dst = argv
		}
	}
	i := strings.LastIndex(target, "#")
	if i <= 0 || strings.TrimSpace(target[i+1:]) == "" {
		return nil, fmt.Errorf("%w: nginx-upstream target %q: want FILE#SERVER_ADDR, e.g. /etc/nginx/upstreams/web.conf#10.0.0.5:8080", ErrConfig, target)
	}
	n.path, n.addr = strings.TrimSpace(target[:i]), strings.TrimSpace(target[i+1:])
	n.norm = normUpstreamAddr(n.addr)
	abs, err := filepath.Abs(n.path)
	if err != nil {
		return nil, fmt.Errorf("%w: nginx-upstream: %w", ErrConfig, err)
	}
	n.real = abs
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		n.real = r
	}
	return n, nil
}

// settingFold finds a setting by key, ignoring case (viper lower-cases).
func settingFold(settings map[string]any, key string) (any, bool) {
	for k, v := range settings {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// argvSetting reads a setting that must be a non-empty list of strings: a
// command as argv, run without a shell.
func argvSetting(typ, key string, v any) ([]string, error) {
	bad := fmt.Errorf("%w: config file rotation.%s.%s: want a list of strings (a command and its arguments, no shell), e.g. [nginx, -t]", ErrConfig, typ, key)
	var out []string
	switch l := v.(type) {
	case []string:
		out = l
	case []any:
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, bad
			}
			out = append(out, s)
		}
	default:
		return nil, bad
	}
	if len(out) == 0 || strings.TrimSpace(out[0]) == "" {
		return nil, bad
	}
	return out, nil
}

// normUpstreamAddr lower-cases the host and adds nginx's default port 80,
// so "web1" and "WEB1:80" name one server.
func normUpstreamAddr(a string) string {
	if strings.HasPrefix(a, "unix:") {
		return a
	}
	a = strings.ToLower(a)
	if _, _, err := net.SplitHostPort(a); err != nil {
		return net.JoinHostPort(strings.Trim(a, "[]"), "80")
	}
	return a
}

// Type implements Method.
func (n *NginxUpstream) Type() string { return "nginx-upstream" }

// Target implements Method: the resolved file and the normalised address.
func (n *NginxUpstream) Target() string { return n.real + "#" + n.norm }

func (n *NginxUpstream) name() string { return "nginx-upstream " + n.path + "#" + n.addr }

// upstreamServer is one `server ADDR [params];` directive of an upstream.
type upstreamServer struct {
	upstream string // the enclosing upstream block's name; "" at top level
	addr     string
	params   []upstreamToken
	semi     int // offset of the ';'
}

func (s upstreamServer) down() (upstreamToken, bool) {
	for _, p := range s.params {
		if p.text == "down" {
			return p, true
		}
	}
	return upstreamToken{}, false
}

type upstreamToken struct {
	text       string
	start, end int
}

// parseUpstreams finds the upstream server directives of an nginx
// configuration file: `server` statements ending in ';' (an http server
// block ends in '{'), at top level (a file included inside an upstream
// block) or in an upstream block. Comments, quotes and escapes are skipped
// as nginx does; offsets point into b.
func parseUpstreams(b []byte) ([]upstreamServer, error) {
	var (
		out   []upstreamServer
		stmt  []upstreamToken
		stack []string // block names: "upstream NAME", "http", ...
	)
	i := 0
	for i < len(b) {
		c := b[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			i++
		case '#':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case ';':
			if len(stmt) > 1 && stmt[0].text == "server" && (len(stack) == 0 || strings.HasPrefix(stack[len(stack)-1], "upstream ")) {
				up := ""
				if len(stack) > 0 {
					up = strings.TrimPrefix(stack[len(stack)-1], "upstream ")
				}
				out = append(out, upstreamServer{upstream: up, addr: stmt[1].text, params: stmt[2:], semi: i})
			}
			stmt = nil
			i++
		case '{':
			name := ""
			if len(stmt) > 0 {
				name = stmt[0].text
				if name == "upstream" && len(stmt) > 1 {
					name += " " + stmt[1].text
				}
			}
			stack = append(stack, name)
			stmt = nil
			i++
		case '}':
			if len(stack) == 0 {
				return nil, fmt.Errorf("unexpected '}' at byte %d", i)
			}
			stack = stack[:len(stack)-1]
			stmt = nil
			i++
		case '"', '\'':
			j := i + 1
			for j < len(b) && b[j] != c {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				return nil, fmt.Errorf("unterminated quote at byte %d", i)
			}
			stmt = append(stmt, upstreamToken{text: string(b[i+1 : j]), start: i, end: j + 1})
			i = j + 1
		default:
			j := i
			for j < len(b) && !strings.ContainsRune(" \t\r\n;{}", rune(b[j])) {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(b))
			stmt = append(stmt, upstreamToken{text: string(b[i:j]), start: i, end: j})
			i = j
		}
	}
	if len(stack) > 0 {
		return nil, errors.New("unexpected end of file: a '{' is not closed")
	}
	return out, nil
}

// read reads the file and finds the target's server lines; an unknown
// server is ErrConfig naming those the file has.
func (n *NginxUpstream) read() ([]byte, fs.FileInfo, []upstreamServer, []upstreamServer, error) {
	fi, err := os.Stat(n.real)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil, fmt.Errorf("%w: nginx-upstream: %s not found (the upstream file the load balancer includes)", ErrConfig, n.path)
	}
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%s: %w", n.name(), err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxUpstreamFile {
		return nil, nil, nil, nil, fmt.Errorf("%w: nginx-upstream: %s is not a regular file under 4 MiB", ErrConfig, n.path)
	}
	b, err := os.ReadFile(n.real)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%s: %w", n.name(), err)
	}
	all, err := parseUpstreams(b)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%w: nginx-upstream: %s: %w", ErrConfig, n.path, err)
	}
	var mine []upstreamServer
	var names []string
	for _, s := range all {
		if normUpstreamAddr(s.addr) == n.norm {
			mine = append(mine, s)
		} else {
			names = append(names, s.addr)
		}
	}
	if len(mine) == 0 {
		if len(names) == 0 {
			return nil, nil, nil, nil, fmt.Errorf("%w: nginx-upstream: %s has no upstream server lines (want `server ADDR;` in an upstream block, or a file included inside one)", ErrConfig, n.path)
		}
		return nil, nil, nil, nil, fmt.Errorf("%w: nginx-upstream: no server %q in %s (it has: %s)%s", ErrConfig, n.addr, n.path, strings.Join(names, ", "), nearestName(n.addr, names))
	}
	return b, fi, all, mine, nil
}

func upstreamStatus(mine []upstreamServer) (Status, error) {
	down := 0
	for _, s := range mine {
		if _, ok := s.down(); ok {
			down++
		}
	}
	switch down {
	case 0:
		return In, nil
	case len(mine):
		return Out, nil
	}
	return Unknown, fmt.Errorf("%w: the server is down in %d of its %d server lines", ErrMixed, down, len(mine))
}

// Status implements Method: the `down` flag in the file (what nginx runs
// if the last change was tested and reloaded).
func (n *NginxUpstream) Status(_ context.Context) (Status, error) {
	_, _, _, mine, err := n.read()
	if err != nil {
		return Unknown, err
	}
	st, err := upstreamStatus(mine)
	if err != nil {
		return st, fmt.Errorf("%s: %w", n.name(), err)
	}
	return st, nil
}

// markDown inserts " down" before the ';' of each line not yet down.
func markDown(b []byte, mine []upstreamServer) []byte {
	var out []byte
	last := 0
	for _, s := range mine { // in file order
		if _, ok := s.down(); ok {
			continue
		}
		var at int
		if len(s.params) > 0 {
			at = s.params[len(s.params)-1].end
		} else {
			at = s.semi
			// `server a:80 ;`: insert after the address, keep the space.
			for at > 0 && (b[at-1] == ' ' || b[at-1] == '\t') {
				at--
			}
		}
		out = append(out, b[last:at]...)
		out = append(out, " down"...)
		last = at
	}
	return append(out, b[last:]...)
}

// unmarkDown removes the `down` word (and the blank before it).
func unmarkDown(b []byte, mine []upstreamServer) []byte {
	var out []byte
	last := 0
	for _, s := range mine {
		d, ok := s.down()
		if !ok {
			continue
		}
		start := d.start
		for start > 0 && (b[start-1] == ' ' || b[start-1] == '\t') {
			start--
		}
		out = append(out, b[last:start]...)
		last = d.end
	}
	return append(out, b[last:]...)
}

// run runs one configured command, bounded by Options.Timeout (30 s when
// unset), and names how it failed with its output clipped.
func (n *NginxUpstream) run(ctx context.Context, what string, argv []string) error {
	return runArgv(ctx, n.opts.Timeout, what, argv)
}

func runArgv(ctx context.Context, timeout time.Duration, what string, argv []string) error {
	_, err := runArgvOutput(ctx, timeout, what, argv)
	return err
}

// runArgvOutput runs argv (no shell) and returns its standard output; an
// error names the command, how it ended (exit code, timeout, not found) and
// its output, clipped.
func runArgvOutput(ctx context.Context, timeout time.Duration, what string, argv []string) (string, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.String(), nil
	}
	shown := strings.Join(argv, " ")
	var ee *exec.ExitError
	var how string
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		how = fmt.Sprintf("timed out after %s", timeout)
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		how = fmt.Sprintf("exit code %d", ee.ExitCode())
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		how = "not found"
	default:
		how = err.Error()
	}
	out := strings.TrimSpace(stderr.String())
	if o := strings.TrimSpace(stdout.String()); o != "" {
		out = strings.TrimSpace(out + " " + o)
	}
	msg := fmt.Sprintf("%s `%s` failed: %s", what, shown, how)
	if out != "" {
		msg += ": " + clipOutput(out, 300)
	}
	// A URL's user info in the command or its output is never shown.
	return stdout.String(), errors.New(redact.String(msg))
}

// clipOutput puts a command's output on one line of at most limit runes.
func clipOutput(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}

// apply writes data over the file (atomically, keeping mode and owner),
// tests and reloads. When the test or the reload fails, the bytes in prev go
// back and nginx keeps (or is not reloaded onto) the change.
func (n *NginxUpstream) apply(ctx context.Context, data, prev []byte, fi fs.FileInfo) error {
	meta := pageMeta{mode: fi.Mode().Perm(), owner: fileOwner(fi)}
	if err := writePage(n.real, data, meta); err != nil {
		return fmt.Errorf("%s: write: %w", n.name(), err)
	}
	undo := func(cause error) error {
		if err := writePage(n.real, prev, meta); err != nil {
			return fmt.Errorf("%s: %w; PUTTING THE FILE BACK FAILED: %w", n.name(), cause, err)
		}
		return fmt.Errorf("%s: %w; the file's bytes from before are back, nginx not reloaded", n.name(), cause)
	}
	if err := n.run(ctx, "configuration test", n.test); err != nil {
		return undo(err)
	}
	if err := n.run(ctx, "reload", n.reload); err != nil {
		return undo(err)
	}
	return nil
}

// Out implements Method.
func (n *NginxUpstream) Out(ctx context.Context, save func(any) error) (bool, error) {
	b, fi, _, mine, err := n.read()
	if err != nil {
		return false, err
	}
	if st, _ := upstreamStatus(mine); st == Out {
		return false, nil
	}
	data := markDown(b, mine)
	if err := save(nginxUpstreamUndo{File: n.real, Original: b, Wrote: digest(data), Mode: fi.Mode().Perm()}); err != nil {
		return false, err
	}
	if err := n.apply(ctx, data, b, fi); err != nil {
		return false, err
	}
	if st, err := n.Status(ctx); st != Out {
		return false, fmt.Errorf("%s: status %s after out: %w", n.name(), st, err)
	}
	return true, nil
}

// In implements Method: the original bytes when the file still holds what
// out wrote (or with --force-restore); without undo data, `down` removed
// from the server's lines.
func (n *NginxUpstream) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	n.notes = nil
	b, fi, _, mine, err := n.read()
	if err != nil {
		return false, err
	}
	var u *nginxUpstreamUndo
	if len(undo) > 0 && string(undo) != "null" {
		u = &nginxUpstreamUndo{}
		if err := json.Unmarshal(undo, u); err != nil {
			return false, fmt.Errorf("%s: undo data: %w", n.name(), err)
		}
	}
	var data []byte
	switch {
	case u == nil:
		if st, _ := upstreamStatus(mine); st == In {
			return false, nil
		}
		data = unmarkDown(b, mine)
	case bytes.Equal(b, u.Original):
		return false, nil
	case digest(b) != u.Wrote && !n.opts.ForceRestore:
		return false, fmt.Errorf("%w: %s no longer holds what drain wrote (a deploy, an edit?): left as it is, original not restored; add --force-restore to put back the bytes from before out", ErrUpstreamChanged, n.path)
	default:
		data = u.Original
	}
	if err := n.apply(ctx, data, b, fi); err != nil {
		return false, err
	}
	if st, err := n.Status(ctx); st == Out {
		// The original bytes had the server down already (a second
		// server line, or down by hand before out): drain leaves it so.
		n.notes = append(n.notes, fmt.Sprintf("%s: the file from before out has the server down: left so", n.name()))
	} else if err != nil {
		return true, err
	}
	return true, nil
}

// Notes implements Noter.
func (n *NginxUpstream) Notes() []string { return n.notes }

// Pool implements Pooler: the servers of the target's upstream block (of
// the whole file when it is included inside one), from the file. Health is
// unknown: open-source nginx checks passively and does not tell.
func (n *NginxUpstream) Pool(_ context.Context) (Pool, error) {
	_, _, all, mine, err := n.read()
	if err != nil {
		return Pool{}, err
	}
	up := mine[0].upstream
	p := Pool{Name: up}
	if up == "" {
		p.Name = filepath.Base(n.path)
	}
	for _, s := range all {
		if s.upstream != up {
			continue
		}
		m := Member{Name: s.addr, Addr: s.addr, Admin: AdminEnabled, Health: HealthUnknown, Self: normUpstreamAddr(s.addr) == n.norm}
		var params []string
		for _, t := range s.params {
			params = append(params, t.text)
		}
		m.Detail = strings.Join(params, " ")
		if _, down := s.down(); down {
			m.Admin = AdminDisabled
		}
		m.InRotation = m.Admin == AdminEnabled && !containsFold(params, "backup")
		p.Members = append(p.Members, m)
	}
	return p, nil
}

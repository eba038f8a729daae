package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func init() {
	Register(Type{
		Name:    "nginx-upstream",
		Syntax:  "FILE#SERVER_ADDR",
		Example: "nginx-upstream:/etc/nginx/upstreams/web.conf#10.0.0.5:8080",
		Summary: "marks the server down in an open-source nginx upstream file, tests the configuration and reloads nginx gracefully",
		Settings: func() any {
			return &nginxUpstreamSettings{Test: []string{"nginx", "-t"}, Reload: []string{"nginx", "-s", "reload"}}
		},
		New: newNginxUpstream,
		Pool: &PoolTarget{
			Syntax:  "FILE[#UPSTREAM]",
			Example: "nginx-upstream:/etc/nginx/upstreams/web.conf#web",
			New:     newNginxUpstreamPool,
		},
	})
}

// NginxUpstream takes a server out of an open-source nginx load balancer,
// which has no runtime API and only passive health checks: out adds `down`
// to the server's lines in an upstream file the balancer includes, runs the
// configuration test and reloads gracefully (old workers finish their
// requests); in removes the `down` out added, the same way. Only this
// server's lines are edited, so drains of several servers of one file do
// not undo each other, and every read, edit, test and reload of the file
// is made under an OS lock on FILE.drain-lock beside it, so that two at
// once never lose one's change. A failed test changes nothing: the file
// gets its bytes back and nginx is not reloaded.
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

// nginxUpstreamUndo is what in needs: this server's lines as they were
// and as out wrote them. It comes back from a record in a possibly shared
// directory, so it is only compared with the file: the file written is the
// target's (File is for people), and in only removes a `down` word from
// this server's lines.
type nginxUpstreamUndo struct {
	File  string              `json:"file"`
	Lines []nginxUpstreamLine `json:"lines,omitempty"`
	// Original and Wrote are the previous release's undo data (the whole
	// file before out, the sha256 of the file after): in reads this
	// server's lines from Original and undoes them the same way.
	Original []byte      `json:"original,omitempty"`
	Wrote    string      `json:"wrote,omitempty"`
	Mode     fs.FileMode `json:"mode,omitempty"`
}

// nginxUpstreamLine is one of the server's `server` directives, in file
// order: its text before out and after, and whether out added `down` to it
// (false: it was down already, and in leaves it so).
type nginxUpstreamLine struct {
	Upstream string `json:"upstream,omitempty"`
	Before   string `json:"before"`
	After    string `json:"after"`
	Added    bool   `json:"added"`
}

// ErrUpstreamChanged marks an in that found the upstream file changed since
// out: it is left as it is.
var ErrUpstreamChanged = errors.New("upstream file changed since out")

const maxUpstreamFile = 4 << 20

// nginxUpstreamSettings is rotation: {nginx-upstream: {test: [...],
// reload: [...]}}: the commands that test nginx's configuration and reload
// it (argv, no shell).
type nginxUpstreamSettings struct {
	Test   []string `setting:"test"`
	Reload []string `setting:"reload"`
}

func newNginxUpstream(target string, opts Options) (Method, error) {
	n := &NginxUpstream{opts: opts}
	if set := opts.Typed.(*nginxUpstreamSettings); set != nil {
		n.test, n.reload = set.Test, set.Reload
	}
	i := strings.LastIndex(target, "#")
	if i <= 0 || strings.TrimSpace(target[i+1:]) == "" {
		return nil, configErrorf("nginx-upstream target %q: want FILE#SERVER_ADDR, e.g. /etc/nginx/upstreams/web.conf#10.0.0.5:8080", target)
	}
	n.path, n.addr = strings.TrimSpace(target[:i]), strings.TrimSpace(target[i+1:])
	n.norm = normUpstreamAddr(n.addr)
	abs, err := filepath.Abs(n.path)
	if err != nil {
		return nil, configErrorf("nginx-upstream: %w", err)
	}
	n.real = abs
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		n.real = r
	}
	return n, nil
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
	start    int // offset of the word `server`
	semi     int // offset of the ';'
}

// text is the directive as written, from `server` to its ';'.
func (s upstreamServer) text(b []byte) string { return string(b[s.start : s.semi+1]) }

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
				out = append(out, upstreamServer{upstream: up, addr: stmt[1].text, params: stmt[2:], start: stmt[0].start, semi: i})
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
	b, fi, err := n.readFile()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	all, mine, err := n.parse(b)
	if err != nil {
		return nil, nil, nil, nil, configErrorf("nginx-upstream: %s: %w", n.path, err)
	}
	var names []string
	for _, s := range all {
		if normUpstreamAddr(s.addr) != n.norm {
			names = append(names, s.addr)
		}
	}
	if len(mine) == 0 {
		if len(names) == 0 {
			return nil, nil, nil, nil, configErrorf("nginx-upstream: %s has no upstream server lines (want `server ADDR;` in an upstream block, or a file included inside one)", n.path)
		}
		return nil, nil, nil, nil, configErrorf("nginx-upstream: no server %q in %s (it has: %s)%s", n.addr, n.path, someNames(names), nearestName(n.addr, names))
	}
	return b, fi, all, mine, nil
}

// readFile reads the upstream file: a regular file under 4 MiB.
func (n *NginxUpstream) readFile() ([]byte, fs.FileInfo, error) {
	fi, err := os.Stat(n.real)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, configErrorf("nginx-upstream: %s not found (the upstream file the load balancer includes)", n.path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", n.name(), err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxUpstreamFile {
		return nil, nil, configErrorf("nginx-upstream: %s is not a regular file under 4 MiB", n.path)
	}
	b, err := os.ReadFile(n.real)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", n.name(), err)
	}
	return b, fi, nil
}

// parse finds every server line of b and the target's among them.
func (n *NginxUpstream) parse(b []byte) (all, mine []upstreamServer, err error) {
	all, err = parseUpstreams(b)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range all {
		if normUpstreamAddr(s.addr) == n.norm {
			mine = append(mine, s)
		}
	}
	return all, mine, nil
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

var errLockBusy = errors.New("locked by another process")

// lockPath is the lock file beside the upstream file (the file itself is
// replaced by a rename on every change, so it cannot carry the lock). Its
// name does not end in .conf, so an `include upstreams/*.conf` never reads it.
func (n *NginxUpstream) lockPath() string { return n.real + ".drain-lock" }

// lock takes the upstream file's OS lock, waiting while another change of
// the file (another drain, on this machine) holds it, up to three times the
// timeout of one command (a holder runs the test and the reload) or until
// ctx ends. The returned func releases it.
func (n *NginxUpstream) lock(ctx context.Context) (func(), error) {
	path := n.lockPath()
	// Whoever may write the upstream file may lock it: the lock file gets
	// its owner, group and read/write bits (never other's), through the
	// open handle.
	perm := os.FileMode(0o600)
	upFi, _ := os.Stat(n.real)
	if upFi != nil {
		perm = upFi.Mode().Perm() & 0o660
	}
	f, err := openLockFile(path, perm)
	if err != nil {
		return nil, fmt.Errorf("%s: the upstream file's lock %s: %w", n.name(), path, err)
	}
	lfi, err := f.Stat()
	if err != nil || !lfi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("%s: the upstream file's lock %s is not a regular file: remove it", n.name(), path)
	}
	if upFi != nil {
		if want, cur := fileOwner(upFi), fileOwner(lfi); want != nil && cur != nil && *want != *cur {
			_ = f.Chown(want.UID, want.GID) // best effort: only root may
		}
	}
	timeout := n.opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(3 * timeout)
	for {
		err := tryLockFile(f)
		if err == nil {
			return func() { _ = unlockLockFile(f); _ = f.Close() }, nil
		}
		if !errors.Is(err, errLockBusy) {
			_ = f.Close()
			return nil, fmt.Errorf("%s: lock %s: %w", n.name(), path, err)
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("%s: %s stayed locked for %s by another change of the upstream file (another drain?): nothing changed", n.name(), path, 3*timeout)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Out implements Method: under the file's lock, `down` on the server's
// lines, tested, reloaded and read back.
func (n *NginxUpstream) Out(ctx context.Context, save func(any) error) (bool, error) {
	// Bad input (no such file or server) is said before the lock file is
	// created: nothing changes, not even that.
	if _, _, _, _, err := n.read(); err != nil {
		return false, err
	}
	unlock, err := n.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	b, fi, _, mine, err := n.read()
	if err != nil {
		return false, err
	}
	if st, _ := upstreamStatus(mine); st == Out {
		return false, nil
	}
	lines, data, err := n.downLines(b, mine)
	if err != nil {
		return false, fmt.Errorf("%s: %w", n.name(), err)
	}
	if err := save(nginxUpstreamUndo{File: n.real, Lines: lines, Mode: fi.Mode().Perm()}); err != nil {
		return false, err
	}
	if err := n.apply(ctx, data, b, fi); err != nil {
		return false, err
	}
	if st, err := n.Status(ctx); st != Out {
		if err == nil {
			err = fmt.Errorf("the server's lines in %s are not down (edited meanwhile by something that does not take %s?)", n.path, filepath.Base(n.lockPath()))
		}
		return false, fmt.Errorf("%s: status %s after out: %w", n.name(), st, err)
	}
	return true, nil
}

// downLines marks the server's lines (mine, of b) down, and says what each
// was and became.
func (n *NginxUpstream) downLines(b []byte, mine []upstreamServer) ([]nginxUpstreamLine, []byte, error) {
	data := markDown(b, mine)
	_, after, err := n.parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("the file with `down` added does not parse back: %w: nothing changed", err)
	}
	if len(after) != len(mine) {
		return nil, nil, fmt.Errorf("the file with `down` added has %d server line(s) for %s, not %d: nothing changed", len(after), n.addr, len(mine))
	}
	lines := make([]nginxUpstreamLine, len(mine))
	for i, s := range mine {
		_, was := s.down()
		lines[i] = nginxUpstreamLine{Upstream: s.upstream, Before: s.text(b), After: after[i].text(data), Added: !was}
	}
	return lines, data, nil
}

// In implements Method: under the file's lock, the `down` out added
// removed from the server's lines that still read as out wrote them (any
// of them changed since: refused, unless --force-restore); without undo
// data, `down` removed from the server's lines.
func (n *NginxUpstream) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	n.notes = nil
	var u *nginxUpstreamUndo
	if len(undo) > 0 && string(undo) != "null" {
		u = &nginxUpstreamUndo{}
		if err := json.Unmarshal(undo, u); err != nil {
			return false, fmt.Errorf("%s: undo data: %w", n.name(), err)
		}
	}
	if _, _, _, _, err := n.read(); err != nil {
		return false, err
	}
	unlock, err := n.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	b, fi, _, mine, err := n.read()
	if err != nil {
		return false, err
	}
	lines := []nginxUpstreamLine(nil)
	if u != nil {
		lines = u.Lines
		if len(lines) == 0 && len(u.Original) > 0 {
			lines = n.oldLines(u.Original)
		}
	}
	var sel []upstreamServer
	if lines == nil {
		if st, _ := upstreamStatus(mine); st == In {
			return false, nil
		}
		for _, s := range mine {
			if _, ok := s.down(); ok {
				sel = append(sel, s)
			}
		}
	} else if sel, err = n.undoLines(b, mine, lines); err != nil {
		return false, err
	}
	if len(sel) > 0 {
		if err := n.apply(ctx, unmarkDown(b, sel), b, fi); err != nil {
			return false, err
		}
	}
	st, err := n.Status(ctx)
	if st == Out {
		// A line was down before out (a second server line, or down by
		// hand): drain leaves it so.
		n.notes = append(n.notes, fmt.Sprintf("%s: the server was down in the file before out: left so", n.name()))
	} else if err != nil {
		return len(sel) > 0, err
	}
	return len(sel) > 0, nil
}

// undoLines picks the server's lines whose `down` out added: each must
// read as out wrote it (as it was before out: already undone, skipped).
// Any other text, or another number of lines, is a change made since:
// ErrUpstreamChanged, or with --force-restore every such line that is down.
func (n *NginxUpstream) undoLines(b []byte, mine []upstreamServer, lines []nginxUpstreamLine) ([]upstreamServer, error) {
	changed := ""
	if len(mine) != len(lines) {
		changed = fmt.Sprintf("it has %d server line(s) for %s, out left %d", len(mine), n.addr, len(lines))
	}
	var sel []upstreamServer
	for i, s := range mine {
		_, down := s.down()
		if i >= len(lines) {
			if n.opts.ForceRestore && down {
				sel = append(sel, s)
			}
			continue
		}
		l, cur := lines[i], s.text(b)
		switch {
		case !l.Added:
		case cur == l.After && down:
			sel = append(sel, s)
		case cur == l.Before:
		default:
			if changed == "" {
				changed = fmt.Sprintf("line %q reads %q", clipOutput(l.After, 120), clipOutput(cur, 120))
			}
			if n.opts.ForceRestore && down {
				sel = append(sel, s)
			}
		}
	}
	if changed != "" && !n.opts.ForceRestore {
		return nil, fmt.Errorf("%w: %s: the server's lines changed since out (%s; a deploy, an edit?): left as they are; add --force-restore to remove `down` from %s's lines anyway (other servers' lines are never touched)", ErrUpstreamChanged, n.path, changed, n.addr)
	}
	return sel, nil
}

// oldLines reads the server's lines from a previous release's undo data
// (the whole file before out): what they were, and what out made of them.
// Bytes that do not parse, or hold no line of this server, give no lines,
// so that none of the file's lines matches.
func (n *NginxUpstream) oldLines(original []byte) []nginxUpstreamLine {
	if len(original) > maxUpstreamFile {
		return []nginxUpstreamLine{}
	}
	_, mine, err := n.parse(original)
	if err != nil || len(mine) == 0 {
		return []nginxUpstreamLine{}
	}
	lines, _, err := n.downLines(original, mine)
	if err != nil {
		return []nginxUpstreamLine{}
	}
	return lines
}

// Notes implements Noter.
func (n *NginxUpstream) Notes() []string { return n.notes }

// Pool implements Pooler: the servers of the target's upstream block (of
// the whole file when it is included inside one), from the file. Health is
// unknown: open-source nginx checks passively and does not tell. A server
// in several upstreams of the file leaves every one of them: the pool is
// then the one it leaves with the fewest others in rotation (one where it
// is in rotation itself first), so that a budget kept there is kept in all.
func (n *NginxUpstream) Pool(_ context.Context) (Pool, error) {
	_, _, all, mine, err := n.read()
	if err != nil {
		return Pool{}, err
	}
	top, blocks := false, false
	for _, s := range all {
		top = top || s.upstream == ""
		blocks = blocks || s.upstream != ""
	}
	if top && blocks {
		return Pool{}, configErrorf("nginx-upstream: %s has server lines both inside upstream blocks and outside any: which upstream the others are in cannot be known from the file, so neither can the pool (put every server line in an upstream block, or keep the file to the lines of one)", n.path)
	}
	var names []string
	for _, s := range mine {
		if !slices.Contains(names, s.upstream) {
			names = append(names, s.upstream)
		}
	}
	var best Pool
	bestSelf, bestOthers := false, 0
	for i, up := range names {
		p := n.upstreamPool(all, up)
		self, others := false, 0
		for _, m := range p.Members {
			if m.Self {
				self = self || m.InRotation
			} else if m.InRotation {
				others++
			}
		}
		if i == 0 || self && !bestSelf || self == bestSelf && others < bestOthers {
			best, bestSelf, bestOthers = p, self, others
		}
	}
	if len(names) > 1 {
		best.Name = fmt.Sprintf("%s (the tightest of the upstreams %s has in %s: %s)", best.Name, n.addr, filepath.Base(n.path), strings.Join(names, ", "))
	}
	return best, nil
}

// upstreamPool is one upstream block's servers ("": the file's top-level
// lines).
func (n *NginxUpstream) upstreamPool(all []upstreamServer, up string) Pool {
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
	return p
}

// PoolID names the pool for the budget's locks and etcd records: the
// upstream file (resolved), whatever upstreams of it the server is in, so
// that drains of any two servers of one file take one lock (a server in
// two upstreams shares a pool with the servers of both).
func (n *NginxUpstream) PoolID() string { return "nginx-upstream:" + n.real }

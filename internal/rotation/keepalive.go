package rotation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/drain-cli/drain/internal/denied"
	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/usage"
)

// Keep-alive page modes (the record's method).
const (
	MethodRename  = "rename"
	MethodContent = "content"
)

// maxPage bounds the keep-alive page kept in the state record.
const maxPage = 1 << 20

// ErrPageChanged marks a content-mode in that found the page rewritten since
// out (a deploy, say): drain leaves it as it is rather than revert it.
var ErrPageChanged = errors.New("keep-alive page changed since out")

func init() {
	Register(Type{
		Name:    "keepalive",
		Syntax:  "PATH",
		Example: "keepalive:/var/www/keepalive.htm",
		Summary: "rename the keep-alive page the load balancer probes (or write --down-content into it); in restores the name or the original bytes",
		New: func(target string, opts Options) (Method, error) {
			k, err := NewKeepalive(target, opts.DisabledName, opts.DownContent)
			if err != nil {
				return nil, err
			}
			k.ForceRestore = opts.ForceRestore
			return k, nil
		},
	})
}

// Keepalive takes a server out by changing the page its load balancer probes:
// renaming it away (the probe gets 404), or, when DownContent is set,
// replacing its bytes (for balancers that match a response string).
type Keepalive struct {
	Path         string // absolute path of the page, as given
	DisabledPath string // where rename mode moves it
	DownContent  []byte // content mode when non-nil
	// ForceRestore makes a content-mode in restore the original bytes even
	// when the page changed since out.
	ForceRestore bool

	key string // the page's identity for records and locks, see pageKey
	// configured is the disabled path the flags give (DisabledPath before
	// adopt): a record may name it wherever it is (see checkDisabled).
	configured string

	// From the record of an out made with other flags (Adopt): its mode,
	// and in content mode the digest of what it wrote and the original.
	adopted  string
	written  string
	original []byte
}

// keepaliveUndo is a keep-alive page's undo data. Its fields are those the
// release before kept in the record itself, so that its records read the
// same (fromV1).
type keepaliveUndo struct {
	Method       string `json:"method"` // rename | content
	Path         string `json:"path"`
	DisabledPath string `json:"disabled_path,omitempty"`
	// Original holds the page's bytes in content mode (restored exactly on
	// in). Without it the page was empty (omitempty drops an empty slice).
	Original []byte      `json:"original,omitempty"`
	OrigMode fs.FileMode `json:"original_mode,omitempty"`
	// OrigOwner is the page's owner in content mode (Unix); Written is the
	// SHA-256 of the bytes out wrote, so in can tell a page changed since.
	OrigOwner *state.Owner `json:"original_owner,omitempty"`
	Written   string       `json:"written_sha256,omitempty"`
}

func decodeKeepalive(undo json.RawMessage) (*keepaliveUndo, error) {
	if len(undo) == 0 || string(undo) == "null" {
		return nil, nil
	}
	var u keepaliveUndo
	if err := json.Unmarshal(undo, &u); err != nil {
		return nil, fmt.Errorf("the record of the keep-alive page is unreadable: %w", err)
	}
	if u.Method != MethodRename && u.Method != MethodContent {
		return nil, nil
	}
	return &u, nil
}

// NewKeepalive builds a keep-alive rotator. disabledName is a file name (in
// the page's directory) or a path; empty means PATH.disabled.
func NewKeepalive(path, disabledName string, downContent *string) (*Keepalive, error) {
	if path == "" {
		return nil, configErrorf("empty keep-alive path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, configErrorf("keep-alive path %q: %w", path, err)
	}
	k := &Keepalive{Path: abs}
	switch {
	case disabledName == "":
		k.DisabledPath = abs + ".disabled"
	case filepath.IsAbs(disabledName) || filepath.Base(disabledName) != disabledName:
		k.DisabledPath, _ = filepath.Abs(disabledName)
	default:
		k.DisabledPath = filepath.Join(filepath.Dir(abs), disabledName)
	}
	if k.DisabledPath == k.Path {
		return nil, configErrorf("--disabled-name must differ from the keep-alive page")
	}
	if downContent != nil {
		k.DownContent = []byte(*downContent)
	}
	// Checked again before each change; refused here so that a bad path is
	// a usage error before a lock or a record exists.
	if _, err := regularFile(k.Path); err != nil {
		return nil, err
	}
	if _, err := disabledFile(k.DisabledPath); err != nil {
		return nil, err
	}
	k.key = pageKey(k.Path, k.DisabledPath)
	k.configured = k.DisabledPath
	return k, nil
}

// pageKey is the file a keep-alive path stands for, so that every spelling
// of one page (through a symlinked directory, a relative path, a symlink to
// the page) shares one lock and one record: the page's directory resolved
// through symlinks, joined with its name; when the page (or, while it is
// renamed away, its disabled name) is itself a symlink, the file it points
// to. The rule holds in both states of rename mode, when the page is absent.
// A path that cannot be resolved (a missing directory) is its own key: the
// run fails before anything changes.
func pageKey(page, disabled string) string {
	dir, err := filepath.EvalSymlinks(filepath.Dir(page))
	if err != nil {
		return page
	}
	entry := filepath.Join(dir, filepath.Base(page))
	for _, p := range []string{entry, disabled} {
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			// Resolved from the page's directory, where the link is (or
			// will be again after in), even when it is renamed elsewhere.
			if dest, err := os.Readlink(p); err == nil {
				if !filepath.IsAbs(dest) {
					dest = filepath.Join(dir, dest)
				}
				if real, err := filepath.EvalSymlinks(dest); err == nil {
					return real
				}
			}
		}
		break
	}
	return entry
}

// Type implements Method.
func (k *Keepalive) Type() string { return "keepalive" }

// Target implements Method: the resolved page (see pageKey).
func (k *Keepalive) Target() string { return k.key }

// shown: a page is named by its path alone in events and status.
func (k *Keepalive) shown() string { return k.key }

// Probed implements Prober: the load balancer learns of the change by its
// next probe of the page.
func (k *Keepalive) Probed() bool { return true }

func (k *Keepalive) mode() string { return k.method() }

// v1Key: the release before keyed a page's record by the resolved page (and
// before that by the path as typed), without a type.
func (k *Keepalive) v1Key() (prefix, canonical, typed string) { return "", k.key, k.Path }

// fromV1 reads the page's data from a record of the release before: the
// record's own fields, when its method is rename or content (a record of
// HAProxy alone says nothing of the page).
func (k *Keepalive) fromV1(old json.RawMessage) (json.RawMessage, bool, bool) {
	u, err := decodeKeepalive(old)
	if err != nil || u == nil {
		return nil, false, false
	}
	b, err := json.Marshal(u)
	if err != nil {
		return nil, false, false
	}
	return b, true, true
}

// adopt implements adopter: status reads the page the way the record says
// out left it (its disabled name, its mode).
func (k *Keepalive) adopt(undo json.RawMessage) {
	u, err := decodeKeepalive(undo)
	if err != nil || u == nil {
		return
	}
	k.adopted = u.Method
	if u.DisabledPath != "" && k.checkDisabled(u.DisabledPath) == nil {
		k.DisabledPath = u.DisabledPath
	}
	k.written, k.original = u.Written, u.Original
}

func (k *Keepalive) method() string {
	if k.adopted != "" {
		return k.adopted
	}
	if k.DownContent != nil {
		return MethodContent
	}
	return MethodRename
}

// Status implements Rotator. With an error it still says what it can: a
// page that is neither present nor disabled is OUT (the probe gets 404).
func (k *Keepalive) Status(_ context.Context) (Status, error) {
	if k.method() == MethodContent {
		b, _, err := readPage(k.Path)
		if err != nil {
			if ok, serr := regularFile(k.Path); !ok && serr == nil {
				return Out, err // missing: the probe gets 404
			}
			return Unknown, err
		}
		switch {
		case k.DownContent != nil:
			if bytes.Equal(b, k.DownContent) {
				return Out, nil
			}
		case k.written != "": // adopted from a record
			if digest(b) == k.written {
				return Out, nil
			}
		case !bytes.Equal(b, k.original): // a record of an older release
			return Out, nil
		}
		return In, nil
	}
	return renameStatus(k.Path, k.DisabledPath)
}

func renameStatus(page, disabled string) (Status, error) {
	pageOK, err := regularFile(page)
	if err != nil {
		return Unknown, err
	}
	disOK, err := disabledFile(disabled)
	if err != nil {
		return Unknown, err
	}
	switch {
	case pageOK && !disOK:
		return In, nil
	case !pageOK && disOK:
		return Out, nil
	case pageOK && disOK:
		return In, configErrorf("both %s and %s exist; remove the stale one", page, disabled)
	default:
		return Out, usage.New(pageHint, "keep-alive page %s not found (nor %s)", page, filepath.Base(disabled))
	}
}

// regularFile reports whether p exists. Anything but a regular file or a
// symlink to one is refused: renaming a directory takes every page under it
// away, and reading a FIFO blocks forever.
func regularFile(p string) (bool, error) {
	lfi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, denied.Wrap(configErrorf("cannot look at the keep-alive page: %w", err), filepath.Dir(p), "let drain's account into the directory (chmod g+x for group GROUP, or o+x), or run drain as one that may (its owner, root)")
	}
	fi := lfi
	if lfi.Mode()&fs.ModeSymlink != 0 {
		if fi, err = os.Stat(p); err != nil {
			return false, configErrorf("%s is a symlink to nothing readable (%w); point it at the page file", p, errors.Unwrap(err))
		}
	}
	if !fi.Mode().IsRegular() {
		return false, configErrorf("%s is %s, not a regular file; --keepalive must name the page file the load balancer probes", p, fileKind(fi.Mode()))
	}
	return true, nil
}

// disabledFile is regularFile for the name a page is renamed to: a symlink
// counts even when it points nowhere from there (a relative link renamed to
// another directory works again once back in place).
func disabledFile(p string) (bool, error) {
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return true, nil
	}
	return regularFile(p)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// Out implements Method.
func (k *Keepalive) Out(ctx context.Context, save func(undo any) error) (bool, error) {
	st, err := k.Status(ctx)
	if err != nil {
		return false, err
	}
	if st == Out {
		return false, nil
	}
	u := keepaliveUndo{Method: k.method(), Path: k.Path}
	if k.method() == MethodRename {
		u.DisabledPath = k.DisabledPath
		if err := save(u); err != nil {
			return false, err
		}
		if err := renameFile(k.Path, k.DisabledPath); err != nil {
			return false, pageDenied(fmt.Errorf("take page out: %w", err), filepath.Dir(k.Path))
		}
		return true, nil
	}
	orig, meta, err := readPage(k.Path)
	if err != nil {
		return false, err
	}
	u.Original, u.OrigMode, u.OrigOwner = orig, meta.mode, meta.owner
	u.Written = digest(k.DownContent)
	if err := save(u); err != nil {
		return false, err
	}
	if err := writePage(k.Path, k.DownContent, meta); err != nil {
		return false, pageDenied(fmt.Errorf("write down content: %w", err), filepath.Dir(k.Path))
	}
	return true, nil
}

// In implements Method. The undo data, when there is a record, says what to
// undo: it wins over the current flags (the page may have been taken out
// with another --disabled-name or mode).
func (k *Keepalive) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	rec, err := decodeKeepalive(undo)
	if err != nil {
		return false, err
	}
	method, disabled := k.method(), k.DisabledPath
	if rec != nil {
		method = rec.Method
		if rec.DisabledPath != "" {
			if err := k.checkDisabled(rec.DisabledPath); err != nil {
				return false, err
			}
			disabled = rec.DisabledPath
		}
	}
	if method == MethodRename {
		st, err := renameStatus(k.Path, disabled)
		if err != nil && st == In && rec != nil && disabled == k.DisabledPath {
			// Both there: a deploy put the page back after out, and the
			// balancer probes it: the server is in. The copy out renamed
			// away is stale; it is removed only under the name these flags
			// give it (never a path the record alone names), so the page
			// directory is as before out.
			if rerr := os.Remove(disabled); rerr != nil {
				return false, fmt.Errorf("the page is back (a deploy?) but the copy out renamed away could not be removed: %w", rerr)
			}
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if st == In {
			return false, nil
		}
		if err := renameFile(disabled, k.Path); err != nil {
			return false, pageDenied(fmt.Errorf("put page back: %w", err), filepath.Dir(k.Path))
		}
		return true, nil
	}
	cur, meta, err := readPage(k.Path)
	if err != nil {
		return false, err
	}
	if rec == nil || rec.Method != MethodContent {
		if k.DownContent != nil && bytes.Equal(cur, k.DownContent) {
			return false, configErrorf("%s holds the down content but no record of its original bytes exists; restore it by hand", k.Path)
		}
		return false, nil
	}
	orig := rec.Original // nil: the page was empty
	if len(orig) > maxPage {
		return false, configErrorf("the record of %s holds %d bytes to restore, more than out ever reads (1 MiB): refusing it; remove the record and restore the page by hand", k.Path, len(orig))
	}
	if bytes.Equal(cur, orig) {
		return false, nil
	}
	if !k.ForceRestore && !k.holdsWhatOutWrote(cur, rec) {
		return false, fmt.Errorf("%w: %s no longer holds the down content drain wrote (a deploy?): left as it is, original not restored; add --force-restore to put back the bytes from before out", ErrPageChanged, k.Path)
	}
	// The page keeps the owner and mode it has now, which out kept when it
	// wrote the down content: the record's original_owner and
	// original_mode are not applied, so that a record someone edited
	// cannot give the page to another account or set-id or
	// world-writable bits.
	if err := writePage(k.Path, orig, meta); err != nil {
		return false, pageDenied(fmt.Errorf("restore page: %w", err), filepath.Dir(k.Path))
	}
	return true, nil
}

// checkDisabled checks a disabled path read from a record before in
// renames that file onto the page: it must be one out could have produced
// for this page, the disabled path the flags give now (--disabled-name, or
// PATH.disabled) or another name in the page's own directory (an out with
// another --disabled-name NAME: in needs no flags again). Anything else
// (a file elsewhere, the page itself) is refused.
func (k *Keepalive) checkDisabled(p string) error {
	c := filepath.Clean(p)
	if filepath.IsAbs(c) {
		if c == k.configured || c == k.Path+".disabled" {
			return nil
		}
		if filepath.Base(c) != filepath.Base(k.Path) && sameDir(filepath.Dir(c), filepath.Dir(k.Path)) {
			return nil
		}
	}
	return configErrorf("the record of %s says the page was renamed to %q, which is not beside the page nor --disabled-name: refusing to rename that file onto the page; if that is where it is, run in with --disabled-name %s", k.Path, p, p)
}

// sameDir reports whether two directory paths name one directory, also
// through symlinks.
func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// holdsWhatOutWrote tells whether the page still holds the down content.
// Records of older releases have no digest: then the --down-content given
// now is the reference, and without it the page is assumed untouched.
func (k *Keepalive) holdsWhatOutWrote(cur []byte, rec *keepaliveUndo) bool {
	switch {
	case rec.Written != "":
		return digest(cur) == rec.Written
	case k.DownContent != nil:
		return bytes.Equal(cur, k.DownContent)
	}
	return true
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// pageMeta is what a rewrite of the page must keep.
type pageMeta struct {
	mode  fs.FileMode
	owner *state.Owner // nil where there are no numeric owners (Windows)
}

// readPage reads the page (through a symlink) and its mode and owner.
func readPage(p string) ([]byte, pageMeta, error) {
	ok, err := regularFile(p)
	if err != nil {
		return nil, pageMeta{}, err
	}
	if !ok {
		return nil, pageMeta{}, usage.New(pageHint, "keep-alive page %s not found", p)
	}
	f, err := openShared(p)
	if err != nil {
		return nil, pageMeta{}, denied.Wrap(configErrorf("cannot read the keep-alive page: %w", err), p, "let drain's account read it (chmod g+r for group GROUP, or o+r), or run drain as one that may (its owner, root)")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, pageMeta{}, fmt.Errorf("read keep-alive page: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPage+1))
	if err != nil {
		return nil, pageMeta{}, fmt.Errorf("read keep-alive page: %w", err)
	}
	if len(b) > maxPage {
		return nil, pageMeta{}, configErrorf("keep-alive page %s is larger than 1 MiB; content mode is for small pages", p)
	}
	return b, pageMeta{mode: fi.Mode().Perm(), owner: fileOwner(fi)}, nil
}

// writePage replaces the page's bytes atomically, keeping its owner, group
// and mode (ACL and attributes on Windows). A symlink stays a symlink: the
// file it points to is rewritten.
func writePage(p string, data []byte, meta pageMeta) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if meta.mode == 0 {
		meta.mode = 0o644
	}
	return replacePage(real, data, meta)
}

// pageHint is the hint for a keep-alive page that is not there.
const pageHint = "point --keepalive at the page file the load balancer probes: it must exist before out"

// pageDenied gives a permission error in the page's directory (where drain
// renames the page or writes its new content) a hint naming the account,
// the owner, group and mode.
func pageDenied(err error, dir string) error {
	return denied.Wrap(err, dir, "let drain's account write there (a member of group GROUP, with chmod g+w), or run drain as one that may (its owner, root)")
}

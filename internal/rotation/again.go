package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"reflect"

	"github.com/drain-cli/drain/internal/state"
)

// A record says the server is out, but the balancer has it in again: HAProxy
// or Apache restarted (their runtime state is gone), a deploy re-created the
// keep-alive page. What the method reads live is the truth; the engine takes
// the server out again through its normal path (budget, lock, a new record),
// and the methods keep what in needs to restore the original: an entry of
// the old record is carried into the new one (rec.Entries before Set.Out),
// and a method that still reads out keeps it as it was.

// recordedStatuser is a method whose status depends on how out left it (a
// keep-alive page's mode and disabled name): it reads it so, given its
// entry's undo data, without changing the method.
type recordedStatuser interface {
	statusAs(ctx context.Context, undo json.RawMessage) (Status, error)
}

// reOuter is a method that takes itself out again over the undo data of an
// earlier out still recorded (a keep-alive page renamed away whose copy is
// still there when a deploy re-created the page).
type reOuter interface {
	// checkAgain says why it cannot (nil: it can), before anything changes.
	checkAgain(undo json.RawMessage) error
	outAgain(ctx context.Context, undo json.RawMessage, save func(undo any) error) (bool, error)
}

// StatusAs is Status read the way rec says out left each method (its mode,
// its disabled name), whatever the flags of this command: where the server
// really stands against the record. rec may be nil (Status).
func (s *Set) StatusAs(ctx context.Context, rec *state.Record) (Status, error) {
	if rec == nil {
		return s.Status(ctx)
	}
	read := func(m Method) (Status, error) {
		if r, ok := m.(recordedStatuser); ok {
			if e := entryFor(rec, m); e != nil && len(e.Undo) > 0 {
				return r.statusAs(ctx, e.Undo)
			}
		}
		return m.Status(ctx)
	}
	if len(s.methods) == 1 {
		return read(s.methods[0])
	}
	return s.combine(read)
}

// CheckOutAgain says why the server cannot be taken out again over rec (a
// record that says out while the balancer reads it in), before anything
// changes: a method whose earlier out left something that a new out would
// clobber (a keep-alive page re-created beside a different copy of it).
func (s *Set) CheckOutAgain(rec *state.Record) error {
	for _, m := range s.methods {
		if r, ok := m.(reOuter); ok {
			if e := entryFor(rec, m); e != nil && e.Changed {
				if err := r.checkAgain(e.Undo); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// statusAs implements recordedStatuser.
func (k *Keepalive) statusAs(ctx context.Context, undo json.RawMessage) (Status, error) {
	c := *k
	c.adopt(undo)
	return c.Status(ctx)
}

// renamedCopy is the disabled copy a rename-mode out left, from its undo
// data, when the page is back beside it: "" when there is nothing to
// reconcile (another mode, the page absent, the copy gone).
func (k *Keepalive) renamedCopy(undo json.RawMessage) (string, error) {
	u, err := decodeKeepalive(undo)
	if err != nil || u == nil || u.Method != MethodRename || u.DisabledPath == "" {
		return "", err
	}
	pageOK, err := regularFile(k.Path)
	if err != nil || !pageOK {
		return "", err
	}
	disOK, err := disabledFile(u.DisabledPath)
	if err != nil || !disOK {
		return "", err
	}
	return u.DisabledPath, nil
}

// checkAgain implements reOuter: a page re-created beside the copy an
// earlier out renamed away can be taken out again only when both are the
// same file content, mode and owner (a deploy that put back the same page):
// then in puts the old copy back, exactly. Different ones are refused:
// drain does not choose which to keep, and never renames over a file.
func (k *Keepalive) checkAgain(undo json.RawMessage) error {
	dis, err := k.renamedCopy(undo)
	if err != nil || dis == "" {
		return err
	}
	same, why := sameFile(k.Path, dis)
	if !same {
		return configErrorf("the keep-alive page %s was re-created while a record says it is out, and the page that out renamed away, %s, differs from it (%s): drain will not choose between them nor overwrite either", k.Path, dis, why)
	}
	return nil
}

// outAgain implements reOuter: with the same page at both names, the
// re-created one is removed and the record keeps the old undo data (in
// renames the old copy back); otherwise a plain Out.
func (k *Keepalive) outAgain(ctx context.Context, undo json.RawMessage, save func(undo any) error) (bool, error) {
	dis, err := k.renamedCopy(undo)
	if err != nil {
		return false, err
	}
	if dis == "" {
		return k.Out(ctx, save)
	}
	if err := k.checkAgain(undo); err != nil {
		return false, err
	}
	u, _ := decodeKeepalive(undo)
	if err := save(u); err != nil {
		return false, err
	}
	if err := os.Remove(k.Path); err != nil {
		return false, fmt.Errorf("take the re-created page out: %w", err)
	}
	return true, nil
}

// sameFile says whether two pages are one page: a symlink to the same
// place, or the same bytes, mode and owner; why says what differs.
func sameFile(a, b string) (bool, string) {
	la, erra := os.Lstat(a)
	lb, errb := os.Lstat(b)
	if erra != nil || errb != nil {
		return false, "unreadable"
	}
	if la.Mode()&fs.ModeSymlink != 0 || lb.Mode()&fs.ModeSymlink != 0 {
		ta, erra := os.Readlink(a)
		tb, errb := os.Readlink(b)
		if erra == nil && errb == nil && ta == tb {
			return true, ""
		}
		return false, "symlinks to different files"
	}
	ba, erra := os.ReadFile(a)
	bb, errb := os.ReadFile(b)
	switch {
	case erra != nil || errb != nil:
		return false, "unreadable"
	case !bytes.Equal(ba, bb):
		return false, "other content"
	case la.Mode().Perm() != lb.Mode().Perm():
		return false, fmt.Sprintf("mode %v, not %v", la.Mode().Perm(), lb.Mode().Perm())
	case !reflect.DeepEqual(fileOwner(la), fileOwner(lb)):
		return false, "another owner"
	}
	return true, ""
}

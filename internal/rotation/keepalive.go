package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/drain-cli/drain/internal/state"
)

// Keepalive rotation methods.
const (
	MethodRename  = "rename"
	MethodContent = "content"
)

// maxPage bounds the keep-alive page kept in the state record.
const maxPage = 1 << 20

// Keepalive takes a server out by changing the page its load balancer probes:
// renaming it away (the probe gets 404), or, when DownContent is set,
// replacing its bytes (for balancers that match a response string).
type Keepalive struct {
	Path         string // absolute path of the page
	DisabledPath string // where rename mode moves it
	DownContent  []byte // content mode when non-nil
}

// NewKeepalive builds a keep-alive rotator. disabledName is a file name (in
// the page's directory) or a path; empty means PATH.disabled.
func NewKeepalive(path, disabledName string, downContent *string) (*Keepalive, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty keep-alive path", ErrConfig)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: keep-alive path %q: %w", ErrConfig, path, err)
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
		return nil, fmt.Errorf("%w: --disabled-name must differ from the keep-alive page", ErrConfig)
	}
	if downContent != nil {
		k.DownContent = []byte(*downContent)
	}
	return k, nil
}

// Target implements Rotator.
func (k *Keepalive) Target() string { return k.Path }

func (k *Keepalive) method() string {
	if k.DownContent != nil {
		return MethodContent
	}
	return MethodRename
}

// Status implements Rotator.
func (k *Keepalive) Status(_ context.Context) (Status, error) {
	if k.method() == MethodContent {
		b, err := readPage(k.Path)
		if err != nil {
			return Unknown, err
		}
		if bytes.Equal(b, k.DownContent) {
			return Out, nil
		}
		return In, nil
	}
	return renameStatus(k.Path, k.DisabledPath)
}

func renameStatus(page, disabled string) (Status, error) {
	pageOK, err := exists(page)
	if err != nil {
		return Unknown, err
	}
	disOK, err := exists(disabled)
	if err != nil {
		return Unknown, err
	}
	switch {
	case pageOK && !disOK:
		return In, nil
	case !pageOK && disOK:
		return Out, nil
	case pageOK && disOK:
		return Unknown, fmt.Errorf("%w: both %s and %s exist; remove the stale one", ErrConfig, page, disabled)
	default:
		return Unknown, fmt.Errorf("%w: keep-alive page %s not found (nor %s); check --keepalive", ErrConfig, page, filepath.Base(disabled))
	}
}

// Out implements Rotator.
func (k *Keepalive) Out(ctx context.Context, rec *state.Record, save func(*state.Record) error) (bool, error) {
	st, err := k.Status(ctx)
	if err != nil {
		return false, err
	}
	if st == Out {
		return false, nil
	}
	rec.Target, rec.Path, rec.Method = k.Path, k.Path, k.method()
	if k.method() == MethodRename {
		rec.DisabledPath = k.DisabledPath
		if err := save(rec); err != nil {
			return false, err
		}
		if err := renameFile(k.Path, k.DisabledPath); err != nil {
			return false, fmt.Errorf("take page out: %w", err)
		}
		return true, nil
	}
	orig, err := readPage(k.Path)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(k.Path)
	if err != nil {
		return false, err
	}
	rec.Original, rec.OrigMode = orig, fi.Mode().Perm()
	if err := save(rec); err != nil {
		return false, err
	}
	if err := writePage(k.Path, k.DownContent, fi.Mode().Perm()); err != nil {
		return false, fmt.Errorf("write down content: %w", err)
	}
	return true, nil
}

// In implements Rotator. The record, when there is one, says what to undo:
// it wins over the current flags (the page may have been taken out with
// another --disabled-name or mode).
func (k *Keepalive) In(ctx context.Context, rec *state.Record) (bool, error) {
	method, disabled := k.method(), k.DisabledPath
	// A record of another method (haproxy) says nothing about the page.
	if rec != nil && (rec.Method == MethodRename || rec.Method == MethodContent) {
		method = rec.Method
		if rec.DisabledPath != "" {
			disabled = rec.DisabledPath
		}
	}
	if method == MethodRename {
		st, err := renameStatus(k.Path, disabled)
		if err != nil {
			return false, err
		}
		if st == In {
			return false, nil
		}
		if err := renameFile(disabled, k.Path); err != nil {
			return false, fmt.Errorf("put page back: %w", err)
		}
		return true, nil
	}
	cur, err := readPage(k.Path)
	if err != nil {
		return false, err
	}
	if rec == nil || rec.Original == nil {
		if k.DownContent != nil && bytes.Equal(cur, k.DownContent) {
			return false, fmt.Errorf("%w: %s holds the down content but no record of its original bytes exists; restore it by hand", ErrConfig, k.Path)
		}
		return false, nil
	}
	if bytes.Equal(cur, rec.Original) {
		return false, nil
	}
	mode := rec.OrigMode
	if mode == 0 {
		mode = 0o644
	}
	if err := writePage(k.Path, rec.Original, mode); err != nil {
		return false, fmt.Errorf("restore page: %w", err)
	}
	return true, nil
}

func exists(p string) (bool, error) {
	_, err := os.Lstat(p)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("%w: %w", ErrConfig, err)
}

func readPage(p string) ([]byte, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: keep-alive page %s not found; check --keepalive", ErrConfig, p)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPage+1))
	if err != nil {
		return nil, fmt.Errorf("read keep-alive page: %w", err)
	}
	if len(b) > maxPage {
		return nil, fmt.Errorf("%w: keep-alive page %s is larger than 1 MiB; content mode is for small pages", ErrConfig, p)
	}
	return b, nil
}

func writePage(p string, data []byte, mode fs.FileMode) error {
	return state.WriteFileAtomic(p, data, mode)
}

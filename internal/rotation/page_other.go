//go:build !windows

package rotation

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/drain-cli/drain/internal/state"
)

func openShared(p string) (*os.File, error) { return os.Open(p) }

func fileOwner(fi fs.FileInfo) *state.Owner {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return &state.Owner{UID: int(st.Uid), GID: int(st.Gid)}
	}
	return nil
}

// replacePage writes a temporary file next to the page with the page's
// owner and mode, then renames it over the page: a reader sees the old or
// the new bytes, never a mix. When the owner cannot be given (drain runs as
// another user than the page's, without the right to chown), the page is
// rewritten in place instead, which keeps owner and mode by itself.
func replacePage(path string, data []byte, meta pageMeta) (err error) {
	tmp, err := tempBeside(path, data)
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if meta.owner != nil {
		if cur := fileOwnerOf(tmp); cur == nil || *cur != *meta.owner {
			if cerr := tmp.Chown(meta.owner.UID, meta.owner.GID); cerr != nil {
				if !errors.Is(cerr, fs.ErrPermission) {
					return cerr
				}
				_ = tmp.Close()
				_ = os.Remove(name)
				return rewriteInPlace(path, data)
			}
		}
	}
	// After chown, which clears set-id bits.
	if err = tmp.Chmod(meta.mode); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}

func fileOwnerOf(f *os.File) *state.Owner {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	return fileOwner(fi)
}

func rewriteInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

//go:build !windows

package rotation

import "os"

// renameFile moves a keep-alive page. On Unix a rename within a directory is
// atomic and open handles do not block it.
func renameFile(from, to string) error { return os.Rename(from, to) }

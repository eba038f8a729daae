//go:build windows

package rotation

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// renameRetries and renameDelay bound how long a page held open by IIS or an
// antivirus scanner is retried (about 2 s in all).
const (
	renameRetries = 10
	renameDelay   = 200 * time.Millisecond
)

// renameFile moves a keep-alive page, retrying briefly while another process
// holds it open (sharing violation), then failing with nothing changed.
func renameFile(from, to string) error {
	var err error
	for i := 0; i < renameRetries; i++ {
		if err = os.Rename(from, to); err == nil || !transient(err) {
			return err
		}
		time.Sleep(renameDelay)
	}
	return fmt.Errorf("%w (file still held open by another process after %s; is IIS or an antivirus scanner locking it?)", err, renameRetries*renameDelay)
}

func transient(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
		errors.Is(err, windows.ERROR_LOCK_VIOLATION) ||
		errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

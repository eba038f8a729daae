//go:build !windows

package action

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

func newBuiltin(name, _ string, _ time.Duration) (Action, error) {
	return nil, fmt.Errorf("%w: %s is a Windows built-in (IIS / Service Control Manager), not available on %s; give a command after -- instead", ErrUsage, name, runtime.GOOS)
}

// Executing lists the requests executing in an IIS app pool or site: only on
// Windows.
func Executing(_ context.Context, _ Scope) ([]Request, error) {
	return nil, errors.New("executing requests: IIS runs only on Windows")
}

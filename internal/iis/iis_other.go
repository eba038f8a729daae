//go:build !windows

package iis

import (
	"context"
	"errors"
	"time"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/source"
)

// newBuiltin refuses: the IIS built-ins need Windows.
func newBuiltin(_ context.Context, name, _ string, _ time.Duration) (action.Action, error) {
	return nil, action.WrongOS(name)
}

// Executing lists the requests executing in an IIS app pool or site: only on
// Windows.
func Executing(_ context.Context, _ Scope) ([]source.Request, error) {
	return nil, errors.New("executing requests: IIS runs only on Windows")
}

//go:build !windows

package action

import (
	"context"
	"time"
)

func init() {
	RegisterBuiltin(StopService, "SERVICE", func(context.Context, string, time.Duration) (Action, error) {
		return nil, WrongOS(StopService)
	})
}

// Package iis is drain's knowledge of IIS: the built-in actions that change
// an app pool or a site through appcmd (and iisreset), the requests in
// flight of a pool or site, and the warning before an action that drops
// ASP.NET InProc sessions. The rest of drain reaches it only through the
// plug-in points it registers with from init: action.RegisterBuiltin,
// source.RegisterLister (the iis: and aspnet: sources become a
// source.RequestLister) and action.RegisterWarner (an action.Warner).
package iis

import (
	"context"
	"time"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/source"
)

// The IIS built-in actions.
const (
	RecycleAppPool = "recycle-apppool"
	StopAppPool    = "stop-apppool"
	StartAppPool   = "start-apppool"
	StopSite       = "stop-site"
	IISResetStop   = "iisreset-stop"
)

func init() {
	for name, arg := range map[string]string{RecycleAppPool: "POOL", StopAppPool: "POOL", StartAppPool: "POOL", StopSite: "SITE", IISResetStop: ""} {
		action.RegisterBuiltin(name, arg, func(ctx context.Context, arg string, timeout time.Duration) (action.Action, error) {
			return newBuiltin(ctx, name, arg, timeout)
		})
	}
	source.RegisterLister("iis", func(ctx context.Context, pool string) ([]source.Request, error) {
		return Executing(ctx, Scope{Pool: pool})
	})
	source.RegisterLister("aspnet", func(ctx context.Context, site string) ([]source.Request, error) {
		return Executing(ctx, Scope{Site: site})
	})
	action.RegisterWarner(sessionWarner)
}

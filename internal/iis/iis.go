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
	for _, b := range []action.Builtin{
		{Name: RecycleAppPool, Arg: "POOL", Summary: "recycles a started IIS app pool and waits until its worker processes are replaced (InProc sessions are lost)"},
		{Name: StopAppPool, Arg: "POOL", Summary: "stops an IIS app pool and waits until it is Stopped"},
		{Name: StartAppPool, Arg: "POOL", Summary: "starts an IIS app pool and waits until it is Started"},
		{Name: StopSite, Arg: "SITE", Summary: "stops an IIS site and waits until it is Stopped"},
		{Name: IISResetStop, Summary: "stops IIS as a whole (iisreset /stop)"},
	} {
		b.OS = "windows"
		b.New = func(ctx context.Context, arg string, timeout time.Duration) (action.Action, error) {
			return newBuiltin(ctx, b.Name, arg, timeout)
		}
		action.RegisterBuiltin(b)
	}
	source.RegisterLister("iis", func(ctx context.Context, pool string) ([]source.Request, error) {
		return Executing(ctx, Scope{Pool: pool})
	})
	source.RegisterLister("aspnet", func(ctx context.Context, site string) ([]source.Request, error) {
		return Executing(ctx, Scope{Site: site})
	})
	action.RegisterWarner(sessionWarner)
}

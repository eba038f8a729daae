package source

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/winps"
)

func init() {
	Register(Type{
		Name: "arr", Syntax: "[ARR_HOST/]FARM#SERVER", Example: "arr:web#10.0.0.5",
		Summary: "IIS ARR's currentRequests for a web farm server (Windows; its totalRequests is the arrivals counter, #total=off: not read)",
		OS:      "windows", New: newARR,
	})
}

// arrNeedsWindows is false only on Windows; tests elsewhere lift it to read
// the stand-in powershell.
var arrNeedsWindows = runtime.GOOS != "windows"

// arrSource reads the requests an IIS Application Request Routing server
// still has in flight to one web farm server: the currentRequests counter
// of its applicationRequestRouting/counters element, read through the same
// PowerShell script the arr rotation method uses (no configuration write).
// That is the balancer's view: what it still sends, not what the server
// counts.
// Its total is the server's totalRequests, ARR's arrivals counter.
type arrSource struct {
	host, farm, server string
	timeout            time.Duration
	noTotal            bool // #total=off
	lastTotal
}

func newARR(target string, opts Options) (Source, error) {
	target, what, has := cutTotal(target)
	if has && what != "totalrequests" && what != "off" {
		return nil, fmt.Errorf("#total=%s: an arr source's total is totalrequests (the default) or off", what)
	}
	host, farm, server, err := winps.ParseARRTarget(target)
	if err != nil {
		return nil, err
	}
	if arrNeedsWindows {
		return nil, fmt.Errorf("arr sources work only on Windows (this is %s): they read ARR through Windows PowerShell and Microsoft.Web.Administration", runtime.GOOS)
	}
	// PowerShell and the IIS configuration system take seconds to load:
	// more than an HTTP read.
	return &arrSource{host: host, farm: farm, server: server, timeout: max(opts.ReadTimeout, 30*time.Second), noTotal: what == "off"}, nil
}

// Read implements Source: the server's currentRequests. An unknown farm or
// server is an error naming those that exist, never 0.
func (s *arrSource) Read(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	farms, err := winps.ARRList(ctx, s.host)
	if err != nil {
		return 0, fmt.Errorf("ARR: %w", err)
	}
	var names []string
	for _, f := range farms {
		names = append(names, f.Name)
		if !strings.EqualFold(f.Name, s.farm) {
			continue
		}
		var addrs []string
		for _, sv := range f.Servers {
			if strings.EqualFold(sv.Address, s.server) {
				if !s.noTotal {
					s.set(float64(sv.TotalRequests), sv.TotalRequests >= 0)
				}
				return finite(float64(sv.CurrentRequests))
			}
			addrs = append(addrs, sv.Address)
		}
		return 0, fmt.Errorf("ARR web farm %q has no server %q (servers: %s)", f.Name, s.server, strings.Join(addrs, ", "))
	}
	return 0, fmt.Errorf("ARR has no web farm %q (farms: %s)", s.farm, strings.Join(names, ", "))
}

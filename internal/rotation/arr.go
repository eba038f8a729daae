package rotation

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/winps"
)

func init() {
	Register(Type{
		Name:         "arr",
		Syntax:       "[ARR_HOST/]FARM#SERVER",
		Example:      "arr:web#10.0.0.5",
		Summary:      "IIS Application Request Routing: the web farm server's runtime state set to Drain (SetState), back to Available on in",
		SettingsNote: "its target says everything",
		New:          newARR,
	})
}

// arrNeedsWindows is false only where Microsoft.Web.Administration can be
// reached (Windows); tests elsewhere lift it to run the same code against
// the stand-in powershell.
var arrNeedsWindows = runtime.GOOS != "windows"

// ARR takes a server out of an IIS Application Request Routing web farm by
// its runtime state: out calls the applicationRequestRouting element's
// SetState method with Drain (1): ARR sends the server no new clients,
// affinitized ones still reach it; in calls SetState with the state the
// undo data holds (Available, 0, by default). Both run a fixed Windows
// PowerShell script (winps.ARRScript) over Microsoft.Web.Administration and
// read the state back. It never writes applicationHost.config: a webFarms
// configuration write restarts ASP.NET Core worker processes
// (dotnet/aspnetcore#8775), and SetState is runtime state, not
// configuration.
type ARR struct {
	Host    string // ARR server ("" = this machine), by ServerManager.OpenRemote
	Farm    string // web farm name
	Server  string // server address as the farm lists it
	Timeout time.Duration
}

// arrUndo is what In needs: the state before out.
type arrUndo struct {
	Farm   string `json:"farm"`
	Server string `json:"server"`
	State  int    `json:"state"`
}

func newARR(target string, opts Options) (Method, error) {
	host, farm, server, err := winps.ParseARRTarget(target)
	if err != nil {
		return nil, configErrorf("arr:%s: %w", target, err)
	}
	if arrNeedsWindows {
		return nil, configErrorf("arr:%s needs Windows: it reaches ARR through Windows PowerShell and Microsoft.Web.Administration (this is %s); run drain on a Windows machine, the ARR server or one with rights on it", target, runtime.GOOS)
	}
	// PowerShell's start and the IIS configuration system's load take a
	// few seconds on a busy server.
	return &ARR{Host: host, Farm: farm, Server: server, Timeout: max(opts.Timeout, 30*time.Second)}, nil
}

// Type implements Method.
func (a *ARR) Type() string { return "arr" }

// Target implements Method: IIS compares farm and server names without
// case.
func (a *ARR) Target() string {
	t := strings.ToLower(a.Farm + "#" + a.Server)
	if a.Host != "" {
		t = strings.ToLower(a.Host) + "/" + t
	}
	return t
}

func (a *ARR) where() string {
	if a.Host == "" {
		return "this machine"
	}
	return a.Host
}

func (a *ARR) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.Timeout)
}

// wrap names the ARR server in an error from the script.
func (a *ARR) wrap(err error) error {
	return fmt.Errorf("arr %s on %s: %w", a.Farm+"#"+a.Server, a.where(), err)
}

// find is the farm and server the target names; an unknown one is
// ErrConfig naming those that exist.
func (a *ARR) find(farms []winps.ARRFarm) (winps.ARRFarm, winps.ARRServer, error) {
	names := make([]string, len(farms))
	for i, f := range farms {
		names[i] = f.Name
		if !strings.EqualFold(f.Name, a.Farm) {
			continue
		}
		addrs := make([]string, len(f.Servers))
		for j, s := range f.Servers {
			addrs[j] = s.Address
			if strings.EqualFold(s.Address, a.Server) {
				return f, s, nil
			}
		}
		return f, winps.ARRServer{}, configErrorf("arr: no server %q in web farm %q on %s (it has: %s)%s", a.Server, f.Name, a.where(), listOrNone(addrs), didYouMean(a.Server, addrs))
	}
	return winps.ARRFarm{}, winps.ARRServer{}, configErrorf("arr: no web farm %q on %s (farms: %s)%s", a.Farm, a.where(), listOrNone(names), didYouMean(a.Farm, names))
}

func (a *ARR) read(ctx context.Context) (winps.ARRFarm, winps.ARRServer, error) {
	ctx, cancel := a.ctx(ctx)
	defer cancel()
	farms, err := winps.ARRList(ctx, a.Host)
	if err != nil {
		return winps.ARRFarm{}, winps.ARRServer{}, a.wrap(err)
	}
	return a.find(farms)
}

// arrStatus: a server disabled in configuration (enabled=false, "Take
// Server Offline") gets no requests whatever its runtime state.
func arrStatus(s winps.ARRServer) Status {
	if s.State == winps.ARRAvailable && s.Enabled {
		return In
	}
	return Out
}

// Status implements Method: IN when the runtime state is Available and
// the server is enabled in configuration, OUT for Drain, the two
// Unavailable states and a disabled server.
func (a *ARR) Status(ctx context.Context) (Status, error) {
	_, s, err := a.read(ctx)
	if err != nil {
		return Unknown, err
	}
	return arrStatus(s), nil
}

// set calls SetState(state) unless the server is in that state already
// (one PowerShell run sets and lists) and verifies it by reading the state
// back: from the listing the same run makes, then up to three more reads
// a second apart. It says whether SetState was called.
func (a *ARR) set(ctx context.Context, farm, server string, state int) (bool, error) {
	c, cancel := a.ctx(ctx)
	farms, changed, err := winps.ARRSetState(c, a.Host, farm, server, state)
	cancel()
	if err != nil {
		return false, a.wrap(fmt.Errorf("SetState(%d, %s): %w", state, winps.ARRStateName(state), err))
	}
	for try := 0; ; try++ {
		_, s, err := a.find(farms)
		if err != nil {
			return false, err
		}
		if s.State == state {
			return changed, nil
		}
		if try == 3 {
			return changed, a.wrap(fmt.Errorf("ARR did not take the change: the runtime state is still %s after SetState(%d, %s)",
				winps.ARRStateName(s.State), state, winps.ARRStateName(state)))
		}
		select {
		case <-ctx.Done():
			return changed, a.wrap(ctx.Err())
		case <-time.After(time.Second):
		}
		c, cancel := a.ctx(ctx)
		farms, err = winps.ARRList(c, a.Host)
		cancel()
		if err != nil {
			return changed, a.wrap(err)
		}
	}
}

// Out implements Method: SetState Drain, unless the server is already out
// (drain, unavailable, or disabled in configuration): then nothing
// changes.
func (a *ARR) Out(ctx context.Context, save func(undo any) error) (bool, error) {
	f, s, err := a.read(ctx)
	if err != nil {
		return false, err
	}
	if arrStatus(s) == Out {
		return false, nil
	}
	if err := save(arrUndo{Farm: f.Name, Server: s.Address, State: s.State}); err != nil {
		return false, err
	}
	if _, err := a.set(ctx, f.Name, s.Address, winps.ARRDrain); err != nil {
		return false, err
	}
	return true, nil
}

// In implements Method: SetState to the state before out (Available when
// there is no record), in one PowerShell run that sets it unless it
// already matches and lists the farms: after Ctrl-C or a console close
// drain has 3 s to restore, and each start of Windows PowerShell with the
// assembly and applicationHost.config takes 1-3 s. A server disabled in
// configuration stays disabled: drain changes runtime state only.
func (a *ARR) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	want := winps.ARRAvailable
	if len(undo) > 0 && string(undo) != "null" {
		var u arrUndo
		if err := json.Unmarshal(undo, &u); err != nil {
			return false, configErrorf("arr: unreadable undo record: %w", err)
		}
		if u.State < winps.ARRAvailable || u.State > winps.ARRUnavailableGracefully {
			return false, configErrorf("arr: undo record holds state %d, not an ARR state", u.State)
		}
		want = u.State
	}
	return a.set(ctx, a.Farm, a.Server, want)
}

// PoolID implements the pool identity (budget locks and etcd records): the
// ARR server and the web farm, not the farm's server, e.g. "arr:arr01/web".
// A farm on this machine is named by this machine's host name, so that a
// drain here and one naming this machine from elsewhere take one lock. IIS
// compares farm names without case.
func (a *ARR) PoolID() string {
	host := a.Host
	if host == "" {
		host, _ = osHostname()
	}
	host = strings.ToLower(host)
	if net.ParseIP(host) == nil { // arr01.corp.example and arr01: one ARR server
		host, _, _ = strings.Cut(host, ".")
	}
	return "arr:" + host + "/" + strings.ToLower(a.Farm)
}

// osHostname is os.Hostname; tests name the machine.
var osHostname = os.Hostname

// Pool implements Pooler: the web farm's servers with their runtime state,
// ARR's health check and current requests.
func (a *ARR) Pool(ctx context.Context) (Pool, error) {
	f, self, err := a.read(ctx)
	if err != nil {
		return Pool{}, err
	}
	p := Pool{Name: f.Name}
	for _, s := range f.Servers {
		m := Member{Name: s.Address, Health: HealthDown}
		if s.HTTPPort > 0 {
			m.Addr = fmt.Sprintf("%s:%d", s.Address, s.HTTPPort)
		}
		switch {
		case !s.Enabled:
			m.Admin = AdminDisabled
		case s.State == winps.ARRAvailable:
			m.Admin = AdminEnabled
		case s.State == winps.ARRDrain:
			m.Admin = AdminDrain
		default:
			m.Admin = AdminDisabled
		}
		if s.IsHealthy {
			m.Health = HealthUp
		}
		m.InRotation = m.Admin == AdminEnabled && m.Health == HealthUp
		m.Self = s.Address == self.Address
		cur := float64(s.CurrentRequests)
		m.Sessions = &cur
		m.Detail = fmt.Sprintf("state %s, healthy %t, enabled %t", winps.ARRStateName(s.State), s.IsHealthy, s.Enabled)
		p.Members = append(p.Members, m)
	}
	return p, nil
}

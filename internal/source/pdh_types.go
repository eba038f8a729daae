package source

import "strings"

// The Windows counter types: read natively on Windows (pdh_windows.go),
// registered everywhere so that a shared config file validates on any
// machine (pdh_other.go refuses to read them).
func init() {
	for _, t := range []Type{
		{
			Name: "pdh", Syntax: "COUNTER_PATH", Example: `pdh:\W3SVC_W3WP(*)\Active Requests`,
			Summary:     "a Windows performance counter (English path); (*) sums every instance but _Total",
			DefaultName: pdhName, New: newPDH,
		},
		{
			Name: "iis", Syntax: "APPPOOL", Example: "iis:MyPool",
			Summary: "active requests (and WebSockets) of an IIS app pool's worker processes, plus its HTTP.sys queue",
			New:     newIIS,
		},
		{
			Name: "aspnet", Syntax: "SITE", Example: "aspnet:Default Web Site",
			Summary: "ASP.NET Requests Executing in an IIS site's app domains",
			New:     newASPNet,
		},
		{
			Name: "aspnet-sessions", Syntax: "SITE", Example: "aspnet-sessions:Default Web Site",
			Summary: "ASP.NET Sessions Active of an IIS site (InProc sessions)",
			New:     newASPNetSessions,
		},
		{
			Name: "state-server", Syntax: "HOST", Bare: true, Example: "state-server",
			Summary: "State Server Sessions Active of an ASP.NET state server",
			New:     newStateServer,
		},
	} {
		t.OS = "windows"
		Register(t)
	}
}

// pdhName is the counter's instance, else the counter:
// \Object(Instance)\Counter.
func pdhName(t string) string {
	if i, j := strings.Index(t, "("), strings.LastIndex(t, ")"); i >= 0 && j > i+1 {
		return t[i+1 : j]
	}
	if i := strings.LastIndex(t, `\`); i >= 0 && i < len(t)-1 {
		return t[i+1:]
	}
	return ""
}

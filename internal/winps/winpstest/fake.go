// Package winpstest is a stand-in powershell.exe for drain's ARR and NLB
// scripts (package winps), for tests on Linux and under Wine where neither
// IIS ARR nor NLB can run.
//
// A test binary doubles as the stand-in: its TestMain calls Main first, and
// Install copies the test binary to DIR/powershell.exe, puts DIR first on
// PATH and names a state file. The code under test then starts it exactly
// as it starts Windows PowerShell (-EncodedCommand, DRAIN_PS_* parameters).
//
// It knows only the scripts drain ships (winps.ARRScript and
// winps.NLBScript, compared byte for byte) and answers them as the object
// models they use are documented to behave:
//
//   - ARR: Microsoft.Web.Administration's webFarms section, each server's
//     applicationRequestRouting/counters (state, isHealthy,
//     currentRequests) and the SetState method, whose input sets the
//     runtime state at once (blogs.iis.net/anilr, "Using ARR config
//     extensibility to gracefully stop server"; arr_schema.xml). Names
//     compare case-insensitively, as PowerShell's -eq does.
//   - The assembly: a script that loads it with LoadWithPartialName gets
//     the highest version in the GAC ("Assembly.LoadWithPartialName",
//     learn.microsoft.com/dotnet/api/system.reflection.assembly.
//     loadwithpartialname: it loads the assembly with the highest version
//     number it finds); with IISExpress set that is IIS Express's 7.9.0.0,
//     reading IIS Express's configuration, which has no web farms.
//   - Constrained Language Mode (LanguageMode, learn.microsoft.com
//     about_Language_Modes: "Method invocation is supported only on core
//     types in this language mode"): [Reflection.Assembly] calls fail
//     with that message.
//   - Console output encoding: [Text.Encoding]::UTF8 has a preamble, which
//     Console writes before the first output (dotnet/runtime#28929); BOM
//     forces one whatever the script says (a host configured that way).
//   - NLB: the WMI provider of the named host, reached over DCOM
//     (Get-WmiObject -ComputerName, "Enumerating Remote Nodes"):
//     MicrosoftNLB_Node rows (Name "CLUSTER_IP:HOST_ID", ComputerName,
//     StatusCode per "standard return values"), MicrosoftNLB_ClusterSetting
//     (ClusterName), and the methods on the host's own node:
//     DrainStop returns WLBS_OK and leaves the node draining (1009)
//     (microsoftnlb-node-drainstop), WLBS_ALREADY when stopped; Start
//     returns WLBS_DRAIN_STOP (1002) on a draining node and WLBS_OK
//     otherwise, and the node converges (microsoftnlb-node-start). Node
//     states are stored in the cmdlets' words ("Converged", "Draining",
//     "Stopped", ...) and served as status codes.
//
// Faults are played from the state file: Error (the script's exception
// message, exit 1, as its catch block does), IgnoreSet (a SetState or
// DrainStop/Start that is accepted but changes nothing), and a script it
// does not know (exit 1).
package winpstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/winps"
)

// StateEnv names the stand-in's state file; when set, Main acts as
// powershell.exe.
const StateEnv = "DRAIN_FAKE_PS_STATE"

// State is what the stand-in serves and changes.
type State struct {
	ARR ARR `json:"arr"`
	NLB NLB `json:"nlb"`
	// Calls counts the runs, per script ("arr", "nlb") and operation
	// ("arr set", "nlb drainstop", ...).
	Calls map[string]int `json:"calls,omitempty"`
	// LanguageMode is the session's language mode ("" FullLanguage).
	LanguageMode string `json:"language_mode,omitempty"`
	// BOM: the console output encoding has a preamble whatever the
	// script sets.
	BOM bool `json:"bom,omitempty"`
}

// ARR is the ARR server's webFarms section and runtime state.
type ARR struct {
	Farms     []winps.ARRFarm `json:"farms"`
	Error     string          `json:"error,omitempty"`      // every run fails with it
	SetError  string          `json:"set_error,omitempty"`  // SetState fails with it
	IgnoreSet bool            `json:"ignore_set,omitempty"` // SetState is accepted, changes nothing
	// IISExpress: the GAC also holds IIS Express's
	// Microsoft.Web.Administration 7.9.0.0 (Visual Studio's web workload).
	IISExpress bool `json:"iis_express,omitempty"`
}

// NLB is an NLB cluster's nodes as Get-NlbClusterNode shows them (State in
// the cmdlet's words).
type NLB struct {
	Nodes     []winps.NLBNode `json:"nodes"`
	Error     string          `json:"error,omitempty"`
	IgnoreSet bool            `json:"ignore_set,omitempty"`
}

// Install makes the running test binary the powershell.exe that winps
// runs (DRAIN_POWERSHELL: winps never looks on PATH), serving st; it
// returns the state file's path.
func Install(t testing.TB, st State) string {
	t.Helper()
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// powershell.exe on every OS: that is the name winps asks PATH for.
	copyFile(t, self, filepath.Join(dir, "powershell.exe"))
	path := filepath.Join(dir, "state.json")
	Save(t, path, st)
	t.Setenv("DRAIN_POWERSHELL", filepath.Join(dir, "powershell.exe"))
	t.Setenv(StateEnv, path)
	return path
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// Save writes st to path.
func Save(t testing.TB, path string, st State) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Load reads the state back.
func Load(t testing.TB, path string) State {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// Main acts as powershell.exe when StateEnv is set: call it first in
// TestMain and exit with code when handled.
func Main() (handled bool, code int) {
	path := os.Getenv(StateEnv)
	if path == "" {
		return false, 0
	}
	return true, run(path, os.Args[1:])
}

// lockState takes path's lock file (created exclusively, on every OS),
// waiting up to 30 s for another run to end.
func lockState(path string) (func(), error) {
	lock := path + ".lock"
	deadline := time.Now().Add(30 * time.Second)
	for {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_ = f.Close()
			return func() { _ = os.Remove(lock) }, nil
		}
		if !errors.Is(err, fs.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("state lock %s: %w", lock, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fail(msg string) int {
	fmt.Fprintln(os.Stderr, msg)
	return 1
}

func run(path string, args []string) int {
	var enc string
	var noProfile, nonInteractive bool
	for i, a := range args {
		switch strings.ToLower(a) {
		case "-encodedcommand":
			if i+1 < len(args) {
				enc = args[i+1]
			}
		case "-noprofile":
			noProfile = true
		case "-noninteractive":
			nonInteractive = true
		}
	}
	if enc == "" || !noProfile || !nonInteractive {
		return fail(fmt.Sprintf("stand-in powershell: want -NoProfile -NonInteractive -EncodedCommand, got %q", args))
	}
	script, err := winps.Decode(enc)
	if err != nil {
		return fail("stand-in powershell: bad -EncodedCommand: " + err.Error())
	}
	// One run at a time, as IIS and NLB apply one change at a time: two
	// drains at once must not lose each other's change in this file.
	unlock, err := lockState(path)
	if err != nil {
		return fail("stand-in powershell: " + err.Error())
	}
	defer unlock()
	b, err := os.ReadFile(path)
	if err != nil {
		return fail("stand-in powershell: " + err.Error())
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return fail("stand-in powershell: " + err.Error())
	}
	if st.Calls == nil {
		st.Calls = map[string]int{}
	}
	var out any
	code := 0
	if m := st.LanguageMode; m != "" && m != "FullLanguage" {
		if strings.Contains(script, "$ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'") {
			// The script's own check: its message on standard output.
			fmt.Println("Windows PowerShell runs in " + m + " mode (an AppLocker or WDAC policy), where Microsoft.Web.Administration cannot be loaded; allow FullLanguage for drain's account, or set DRAIN_POWERSHELL")
			return 1
		}
		return fail("Cannot invoke method. Method invocation is supported only on core types in this language mode.")
	}
	switch script {
	case winps.ARRScript:
		out, code = st.arr(script)
	case winps.NLBScript:
		out, code = st.nlb()
	default:
		return fail("stand-in powershell: a script it does not know")
	}
	if b, err = json.Marshal(st); err == nil {
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return fail("stand-in powershell: " + err.Error())
	}
	if code != 0 {
		return code
	}
	b, _ = json.Marshal(out)
	if st.BOM || strings.Contains(script, "[Console]::OutputEncoding = [Text.Encoding]::UTF8") {
		os.Stdout.Write([]byte{0xEF, 0xBB, 0xBF})
	}
	fmt.Println(string(b))
	return 0
}

func (st *State) arr(script string) (any, int) {
	st.Calls["arr"]++
	if st.ARR.Error != "" {
		return nil, fail(st.ARR.Error)
	}
	if st.ARR.IISExpress && strings.Contains(script, "LoadWithPartialName('Microsoft.Web.Administration')") {
		// IIS Express's assembly reads IIS Express's applicationhost.config:
		// no webFarms section with ARR's farms.
		return map[string]any{"farms": []winps.ARRFarm{}, "changed": false}, 0
	}
	changed := false
	if s := os.Getenv("DRAIN_PS_STATE"); s != "" {
		farm, server := os.Getenv("DRAIN_PS_FARM"), os.Getenv("DRAIN_PS_SERVER")
		var hit *winps.ARRServer
		for i := range st.ARR.Farms {
			if strings.EqualFold(st.ARR.Farms[i].Name, farm) {
				for j := range st.ARR.Farms[i].Servers {
					if strings.EqualFold(st.ARR.Farms[i].Servers[j].Address, server) {
						hit = &st.ARR.Farms[i].Servers[j]
					}
				}
			}
		}
		n, err := strconv.Atoi(s)
		switch {
		case hit == nil:
			// Nothing to set: the listing shows what exists.
		case err != nil || n < 0 || n > 3:
			// The input attribute is an enum: another value is refused.
			return nil, fail(`Exception setting "Value": "Enum value '` + s + `' is not valid."`)
		case hit.State != n:
			st.Calls["arr set"]++
			if st.ARR.SetError != "" {
				return nil, fail(st.ARR.SetError)
			}
			if !st.ARR.IgnoreSet {
				hit.State = n
			}
			changed = true
		}
	}
	return map[string]any{"farms": st.ARR.Farms, "changed": changed}, 0
}

func short(host string) string {
	h, _, _ := strings.Cut(strings.ToLower(host), ".")
	return h
}

// nlbCodes are MicrosoftNLB_Node.StatusCode values for the cmdlets' words.
var nlbCodes = map[string]int{
	"converged": 1007, "converged(default)": 1008, "converging": 1006,
	"draining": 1009, "stopped": 1005, "suspended": 1013,
}

func (st *State) nlb() (any, int) {
	st.Calls["nlb"]++
	if st.NLB.Error != "" {
		return nil, fail(st.NLB.Error)
	}
	host, want := os.Getenv("DRAIN_PS_HOST"), os.Getenv("DRAIN_PS_CLUSTER")
	// The host's WMI lists the nodes of every cluster it is in.
	in := map[string]bool{}
	var mine []int
	for i, n := range st.NLB.Nodes {
		if short(n.Name) == short(host) {
			in[strings.ToLower(n.Cluster)] = true
			if want == "" || strings.EqualFold(n.Cluster, want) || (n.ClusterIP != "" && n.ClusterIP == want) {
				mine = append(mine, i)
			}
		}
	}
	if len(in) == 0 {
		// What Get-WmiObject -ComputerName says when the host does not
		// answer DCOM.
		return nil, fail("The RPC server is unavailable. (Exception from HRESULT: 0x800706BA)")
	}
	rc, changed := 0, false
	switch op := os.Getenv("DRAIN_PS_OP"); op {
	case "":
	case "drainstop", "start":
		if len(mine) != 1 {
			break
		}
		hit := &st.NLB.Nodes[mine[0]]
		code := nlbCodes[strings.ToLower(hit.State)]
		inRotation := code == 1006 || code == 1007 || code == 1008
		switch {
		case op == "drainstop" && inRotation:
			rc, changed = 1000, true
			if !st.NLB.IgnoreSet {
				hit.State = "Draining"
			}
		case op == "start" && !inRotation:
			rc, changed = 1000, true
			if code == 1009 {
				rc = 1002 // WLBS_DRAIN_STOP: the drain was interrupted
			}
			if !st.NLB.IgnoreSet {
				hit.State = "Converged"
			}
		}
		if changed {
			st.Calls["nlb "+op]++
		}
	default:
		return nil, fail("stand-in powershell: unknown DRAIN_PS_OP " + op)
	}
	type row struct {
		winps.NLBNode
		StatusCode int `json:"statusCode"`
	}
	var nodes []row
	for _, n := range st.NLB.Nodes {
		if in[strings.ToLower(n.Cluster)] {
			r := row{NLBNode: n, StatusCode: nlbCodes[strings.ToLower(n.State)]}
			r.Key = n.ClusterIP + ":" + strconv.Itoa(n.HostID)
			r.State = ""
			nodes = append(nodes, r)
		}
	}
	return map[string]any{"nodes": nodes, "rc": rc, "changed": changed}, 0
}

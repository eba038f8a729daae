package cli

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/drain-cli/drain/internal/source/pdh"
)

// loadPerfNames maps localized names to English (the factory's PerfNames:
// tests give their own, Wine's Perflib\009 being synthesized and read-only).
func loadPerfNames() (*pdh.Names, error) { return pdh.LoadNames() }

// listCounters prints the local counters matching filter as pdh: specs,
// then the presets that fit this machine's IIS.
func listCounters(fac *Factory, filter string) error {
	ios := fac.IOStreams
	objects, err := pdh.Objects("")
	if err != nil {
		return fmt.Errorf("list performance objects: %w", err)
	}
	// A localized Windows enumerates local names, which
	// PdhAddEnglishCounter rejects: print (and recognise presets by) the
	// English ones. Without the Perflib lists, names are printed as they are.
	names, _ := fac.PerfNames()
	sort.Strings(objects)
	f := strings.ToLower(filter)
	found := 0
	var pools []string
	stateServer := false
	for _, local := range objects {
		counters, instances, err := pdh.Items("", local)
		if err != nil {
			continue // objects come and go (a provider unloading): not fatal
		}
		obj := names.English(local)
		switch obj {
		case "W3SVC_W3WP":
			for _, inst := range instances {
				if p, ok := pdh.WorkerPool(inst); ok && !contains(pools, p) {
					pools = append(pools, p)
				}
			}
		case "ASP.NET State Service":
			stateServer = true
		}
		objMatch := strings.Contains(strings.ToLower(obj), f) || strings.Contains(strings.ToLower(local), f)
		for _, lc := range counters {
			c := names.Counter(local, lc)
			if !objMatch && !strings.Contains(strings.ToLower(c), f) && !strings.Contains(strings.ToLower(lc), f) {
				continue
			}
			found++
			// Names come from whatever providers are installed: made
			// safe for the terminal like any outside text.
			if len(instances) == 0 {
				fmt.Fprintf(ios.Out, "pdh:\\%s\\%s\n", sanitize(obj), sanitize(c))
				continue
			}
			fmt.Fprintf(ios.Out, "pdh:\\%s(*)\\%s\tinstances: %s\n", sanitize(obj), sanitize(c), sanitize(strings.Join(instances, ", ")))
		}
	}
	presets := presetsHere(pools, stateServer)
	if len(presets) > 0 {
		fmt.Fprintln(ios.Out, "\npresets for this machine:")
		for _, p := range presets {
			fmt.Fprintln(ios.Out, p) // names made safe in presetsHere
		}
	}
	if found == 0 && len(presets) == 0 {
		return fmt.Errorf("no performance counter here has an object or counter name containing %q", filter)
	}
	return nil
}

func presetsHere(pools []string, stateServer bool) []string {
	var out []string
	sort.Strings(pools)
	for _, p := range pools {
		p = sanitize(p)
		out = append(out, fmt.Sprintf("iis:%s\tin-flight requests of app pool %s (workers, websockets, HTTP.sys queue)", p, p))
	}
	if f, err := os.Open(pdh.AppHostConfig()); err == nil {
		sites, _ := pdh.ParseSites(f)
		_ = f.Close()
		for _, s := range sites {
			s.Name = sanitize(s.Name)
			out = append(out,
				fmt.Sprintf("aspnet:%s\tASP.NET requests executing in site %s (id %d)", s.Name, s.Name, s.ID),
				fmt.Sprintf("aspnet-sessions:%s\tactive ASP.NET sessions of site %s", s.Name, s.Name))
		}
	}
	if stateServer {
		out = append(out, "state-server\tsessions held by the ASP.NET State Service here")
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

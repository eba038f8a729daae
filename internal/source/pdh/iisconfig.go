package pdh

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Site is an IIS site as applicationHost.config declares it.
type Site struct {
	Name string `xml:"name,attr"`
	ID   int    `xml:"id,attr"`
}

// AppHostConfig is where IIS keeps its sites, below %windir%.
func AppHostConfig() string {
	windir := os.Getenv("windir")
	if windir == "" {
		windir = `C:\Windows`
	}
	return filepath.Join(windir, "System32", "inetsrv", "config", "applicationHost.config")
}

// ParseSites reads the <site name= id=> elements of an applicationHost.config.
func ParseSites(r io.Reader) ([]Site, error) {
	var doc struct {
		Sites []Site `xml:"system.applicationHost>sites>site"`
	}
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse applicationHost.config: %w", err)
	}
	return doc.Sites, nil
}

// SiteID finds the id of the site named name (case-insensitive, as IIS
// compares site names) in the config file at path.
func SiteID(path, name string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("find the id of IIS site %q: %w", name, err)
	}
	defer f.Close()
	sites, err := ParseSites(f)
	if err != nil {
		return 0, err
	}
	var known []string
	for _, s := range sites {
		if strings.EqualFold(s.Name, name) {
			return s.ID, nil
		}
		known = append(known, s.Name)
	}
	if len(known) == 0 {
		return 0, fmt.Errorf("no IIS site %q: %s declares no sites", name, path)
	}
	return 0, fmt.Errorf("no IIS site %q (sites: %s)", name, strings.Join(known, ", "))
}

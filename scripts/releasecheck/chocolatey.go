package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The nuspec namespace Chocolatey's own templates use.
const nuspecNS = "http://schemas.microsoft.com/packaging/2015/06/nuspec.xsd"

// nuspec is the part of a Chocolatey nuspec the check reads.
type nuspec struct {
	XMLName  xml.Name `xml:"package"`
	Metadata struct {
		ID                       string `xml:"id"`
		Version                  string `xml:"version"`
		Title                    string `xml:"title"`
		Authors                  string `xml:"authors"`
		ProjectURL               string `xml:"projectUrl"`
		PackageSourceURL         string `xml:"packageSourceUrl"`
		LicenseURL               string `xml:"licenseUrl"`
		RequireLicenseAcceptance string `xml:"requireLicenseAcceptance"`
		Tags                     string `xml:"tags"`
		Summary                  string `xml:"summary"`
		Description              string `xml:"description"`
	} `xml:"metadata"`
	Files []struct {
		Src    string `xml:"src,attr"`
		Target string `xml:"target,attr"`
	} `xml:"files>file"`
}

var (
	chocoArchRE = regexp.MustCompile(`'(AMD64|ARM64)' \{ \$url = '([^']*)'; \$checksum = '([^']*)' \}`)
	leftRE      = regexp.MustCompile(`@[A-Z0-9_]+@`)
)

// checkChocolatey checks the Chocolatey package scripts/chocolatey wrote in
// dir: the nuspec is well-formed XML in the nuspec namespace with the
// fields the Chocolatey community repository requires (id, version,
// title, authors, projectUrl, packageSourceUrl, the licence, tags,
// summary, description) and packs tools/; tools/chocolateyinstall.ps1
// downloads each Windows zip of this version with the SHA-256
// checksums.txt gives it, and, when the zip lies next to checksums.txt, the
// zip's own SHA-256; no template placeholder is left.
func checkChocolatey(dir, checksums, version string) error {
	file := filepath.Join(dir, "drain.nuspec")
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var n nuspec
	if err := xml.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("%s: not well-formed XML: %w", file, err)
	}
	if n.XMLName.Space != nuspecNS {
		return fmt.Errorf("%s: namespace %q, want %s", file, n.XMLName.Space, nuspecNS)
	}
	m := n.Metadata
	if m.ID != "drain" || m.Version != version {
		return fmt.Errorf("%s: id %q version %q, want drain %s", file, m.ID, m.Version, version)
	}
	for name, v := range map[string]string{"title": m.Title, "authors": m.Authors, "tags": m.Tags, "summary": m.Summary, "description": m.Description} {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%s: no %s", file, name)
		}
	}
	for name, v := range map[string]string{"projectUrl": m.ProjectURL, "packageSourceUrl": m.PackageSourceURL, "licenseUrl": m.LicenseURL} {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("%s: %s %q is not an https URL", file, name, v)
		}
	}
	if m.RequireLicenseAcceptance != "false" {
		return fmt.Errorf("%s: requireLicenseAcceptance %q, want false", file, m.RequireLicenseAcceptance)
	}
	packsTools := false
	for _, f := range n.Files {
		packsTools = packsTools || (f.Src == `tools\**` && f.Target == "tools")
	}
	if !packsTools {
		return fmt.Errorf(`%s: <files> does not pack tools\** into tools`, file)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if left := leftRE.Find(b); left != nil {
			return fmt.Errorf("%s: %s is not filled in", p, left)
		}
		return nil
	})
	if err != nil {
		return err
	}

	sums, err := readChecksums(checksums)
	if err != nil {
		return err
	}
	script := filepath.Join(dir, "tools", "chocolateyinstall.ps1")
	ps, err := os.ReadFile(script)
	if err != nil {
		return err
	}
	found := map[string]bool{}
	for _, a := range chocoArchRE.FindAllSubmatch(ps, -1) {
		arch := strings.ToLower(string(a[1]))
		zip := fmt.Sprintf("drain_%s_windows_%s.zip", version, arch)
		link, sum := string(a[2]), string(a[3])
		if u, err := url.Parse(link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || !strings.HasSuffix(u.Path, "/v"+version+"/"+zip) {
			return fmt.Errorf("%s: %s url %q is not the release's %s", script, arch, link, zip)
		}
		want, ok := sums[zip]
		if !ok {
			return fmt.Errorf("%s: checksums.txt does not list %s", script, zip)
		}
		if sum != want {
			return fmt.Errorf("%s: %s checksum %s, but checksums.txt says %s for %s", script, arch, sum, want, zip)
		}
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(checksums), zip)); err == nil {
			got := sha256.Sum256(b)
			if hex.EncodeToString(got[:]) != sum {
				return fmt.Errorf("%s: %s checksum %s, but %s is %x", script, arch, sum, zip, got)
			}
		}
		found[arch] = true
	}
	if !found["amd64"] || !found["arm64"] {
		return fmt.Errorf("%s: want a URL and checksum for AMD64 and ARM64, found %v", script, found)
	}
	if !bytes.Contains(ps, []byte("Install-ChocolateyZipPackage")) || !bytes.Contains(ps, []byte("checksumType64 = 'sha256'")) {
		return fmt.Errorf("%s: does not install the zip with Install-ChocolateyZipPackage and a sha256 checksum", script)
	}
	fmt.Printf("ok %s: chocolatey package drain %s, checksums match checksums.txt\n", dir, version)
	return nil
}

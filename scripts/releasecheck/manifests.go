package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// checkWinget validates every *.yaml under dir against the schema for its
// ManifestType and ManifestVersion from schemaDir (checked in, no network),
// wants the three files of a multi-file manifest for version, and each
// installer's InstallerSha256 to be checksums.txt's for its URL's archive.
func checkWinget(dir, schemaDir, version, checksums string) error {
	sums, err := readChecksums(checksums)
	if err != nil {
		return err
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	seen := map[string]bool{}
	for _, f := range files {
		typ, err := validateWinget(f, schemaDir, version, sums)
		if err != nil {
			return err
		}
		seen[typ] = true
		fmt.Printf("ok %s: valid winget %s manifest\n", f, typ)
	}
	for _, typ := range []string{"version", "installer", "defaultLocale"} {
		if !seen[typ] {
			return fmt.Errorf("%s: no winget %s manifest", dir, typ)
		}
	}
	return nil
}

func validateWinget(file, schemaDir, version string, sums map[string]string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	// The schema validates JSON values: YAML -> JSON -> generic value.
	js, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	m, _ := inst.(map[string]any)
	typ, _ := m["ManifestType"].(string)
	mver, _ := m["ManifestVersion"].(string)
	if typ == "" || mver == "" {
		return "", fmt.Errorf("%s: no ManifestType or ManifestVersion", file)
	}
	if v, _ := m["PackageVersion"].(string); v != version {
		return "", fmt.Errorf("%s: PackageVersion is %q, want %q", file, v, version)
	}
	schemaFile := filepath.Join(schemaDir, fmt.Sprintf("manifest.%s.%s.json", typ, mver))
	sch, err := compileSchema(schemaFile)
	if err != nil {
		return "", fmt.Errorf("%s: schema for %s %s: %w", file, typ, mver, err)
	}
	if err := sch.Validate(inst); err != nil {
		return "", fmt.Errorf("%s does not match %s: %w", file, filepath.Base(schemaFile), err)
	}
	installers, _ := m["Installers"].([]any)
	for _, i := range installers {
		in, _ := i.(map[string]any)
		url, _ := in["InstallerUrl"].(string)
		sha, _ := in["InstallerSha256"].(string)
		name := path.Base(url)
		if want, ok := sums[name]; !ok || !strings.EqualFold(sha, want) {
			return "", fmt.Errorf("%s: InstallerSha256 %s for %s, but checksums.txt says %q", file, sha, name, want)
		}
	}
	return typ, nil
}

// compileSchema compiles a schema file; a $ref to anything but itself or the
// draft metaschemas (which the library carries) is an error, never a download.
func compileSchema(file string) (*jsonschema.Schema, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noNetwork{})
	url := "file:///" + path.Base(filepath.ToSlash(file))
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, fmt.Errorf("refusing to fetch %s: the schemas are checked in", url)
}

// checkScoop parses the Scoop manifest and wants each architecture's URL to
// name an archive of this version whose hash is the one in checksums.txt.
func checkScoop(file, checksums, version string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var m struct {
		Version      string `json:"version"`
		Architecture map[string]struct {
			URL  string   `json:"url"`
			Bin  []string `json:"bin"`
			Hash string   `json:"hash"`
		} `json:"architecture"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%s: not JSON: %w", file, err)
	}
	if m.Version != version {
		return fmt.Errorf("%s: version is %q, want %q", file, m.Version, version)
	}
	sums, err := readChecksums(checksums)
	if err != nil {
		return err
	}
	for _, arch := range []string{"64bit", "arm64"} {
		a, ok := m.Architecture[arch]
		if !ok {
			return fmt.Errorf("%s: no %s architecture", file, arch)
		}
		if len(a.Bin) == 0 || path.Base(filepath.ToSlash(a.Bin[0])) != "drain.exe" {
			return fmt.Errorf("%s: %s bin is %q, want drain.exe", file, arch, a.Bin)
		}
		name := path.Base(a.URL)
		if !strings.HasPrefix(a.URL, "https://") || !strings.Contains(name, version) {
			return fmt.Errorf("%s: %s url %q is not an https URL of version %s", file, arch, a.URL, version)
		}
		want, ok := sums[name]
		if !ok {
			return fmt.Errorf("%s: %s url names %s, which checksums.txt does not list", file, arch, name)
		}
		if !strings.EqualFold(a.Hash, want) {
			return fmt.Errorf("%s: %s hash %s, but checksums.txt says %s for %s", file, arch, a.Hash, want, name)
		}
	}
	fmt.Printf("ok %s: scoop manifest for %s, hashes match checksums.txt\n", file, version)
	return nil
}

func readChecksums(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[fields[1]] = fields[0]
		}
	}
	if len(sums) == 0 {
		return nil, fmt.Errorf("%s: no checksums", file)
	}
	return sums, sc.Err()
}

// checkSBOMs wants CycloneDX JSON documents whose components include the
// modules drain links (cobra is always there).
func checkSBOMs(files []string) error {
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var bom struct {
			BOMFormat  string `json:"bomFormat"`
			Components []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				PURL    string `json:"purl"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &bom); err != nil {
			return fmt.Errorf("%s: not JSON: %w", file, err)
		}
		if bom.BOMFormat != "CycloneDX" {
			return fmt.Errorf("%s: bomFormat is %q, want CycloneDX", file, bom.BOMFormat)
		}
		found := false
		for _, c := range bom.Components {
			if strings.Contains(c.PURL, "github.com/spf13/cobra@") {
				found = true
			}
		}
		if !found {
			return errors.New(file + ": no github.com/spf13/cobra component: the SBOM does not describe drain's modules")
		}
		fmt.Printf("ok %s: CycloneDX, %d components\n", file, len(bom.Components))
	}
	return nil
}

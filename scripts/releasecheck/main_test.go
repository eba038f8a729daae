package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const schemaDir = "../../packaging/winget/schema"

// Manifests shaped like the ones goreleaser v2.15.1 writes.
var goodWinget = map[string]string{
	"drain-cli.drain.yaml": `# yaml-language-server: $schema=https://aka.ms/winget-manifest.version.1.12.0.schema.json
PackageIdentifier: drain-cli.drain
PackageVersion: 1.2.3
DefaultLocale: en-US
ManifestType: version
ManifestVersion: 1.12.0
`,
	"drain-cli.drain.installer.yaml": `PackageIdentifier: drain-cli.drain
PackageVersion: 1.2.3
InstallerLocale: en-US
InstallerType: zip
ReleaseDate: "2026-11-29"
Installers:
  - Architecture: x64
    NestedInstallerType: portable
    NestedInstallerFiles:
      - RelativeFilePath: drain.exe
        PortableCommandAlias: drain
    InstallerUrl: https://github.com/drain-cli/drain/releases/download/v1.2.3/drain_1.2.3_windows_amd64.zip
    InstallerSha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    UpgradeBehavior: uninstallPrevious
ManifestType: installer
ManifestVersion: 1.12.0
`,
	"drain-cli.drain.locale.en-US.yaml": `PackageIdentifier: drain-cli.drain
PackageVersion: 1.2.3
PackageLocale: en-US
Publisher: drain-cli
PackageName: drain
License: NOASSERTION
ShortDescription: Take a web server out of rotation
Tags:
  - iis
ManifestType: defaultLocale
ManifestVersion: 1.12.0
`,
}

func writeManifests(t *testing.T, edit func(name, body string) string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range goodWinget {
		if edit != nil {
			body = edit(name, body)
		}
		if body == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checksums.txt of the release the manifests above describe.
func writeSums(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "checksums.txt")
	body := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  drain_1.2.3_windows_amd64.zip\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWingetValid(t *testing.T) {
	if err := checkWinget(writeManifests(t, nil), schemaDir, "1.2.3", writeSums(t)); err != nil {
		t.Fatal(err)
	}
}

// Each broken manifest must be refused, naming what is wrong: if the schemas
// were not applied (or were empty), these would pass.
func TestWingetInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"no license", "locale", "License: NOASSERTION\n", "", "License"},
		{"bad sha256", "installer", "InstallerSha256: 0123456789abcdef", "InstallerSha256: xyz", "InstallerSha256"},
		{"unknown architecture", "installer", "Architecture: x64", "Architecture: amd64", "Architecture"},
		{"http url without scheme", "installer", "InstallerUrl: https://", "InstallerUrl: ", "InstallerUrl"},
		{"package id with one part", "drain.yaml", "PackageIdentifier: drain-cli.drain", "PackageIdentifier: drain", "PackageIdentifier"},
		{"duplicate tags", "locale", "Tags:\n  - iis\n", "Tags:\n" + strings.Repeat("  - t\n", 2), "Tags"},
		{"no schema for version", "installer", "ManifestVersion: 1.12.0", "ManifestVersion: 9.9.9", "schema for installer 9.9.9"},
		{"other version", "locale", "PackageVersion: 1.2.3", "PackageVersion: 1.2.4", "PackageVersion"},
		{"sha256 of another file", "installer", "InstallerSha256: 0123456789abcdef", "InstallerSha256: f123456789abcdef", "checksums.txt says"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeManifests(t, func(name, body string) string {
				if strings.Contains(name, tc.file) {
					if !strings.Contains(body, tc.old) {
						t.Fatalf("%s has no %q", name, tc.old)
					}
					body = strings.Replace(body, tc.old, tc.new, 1)
				}
				return body
			})
			err := checkWinget(dir, schemaDir, "1.2.3", writeSums(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestWingetMissingFile(t *testing.T) {
	dir := writeManifests(t, func(name, body string) string {
		if strings.Contains(name, "locale") {
			return ""
		}
		return body
	})
	if err := checkWinget(dir, schemaDir, "1.2.3", writeSums(t)); err == nil || !strings.Contains(err.Error(), "defaultLocale") {
		t.Fatalf("err = %v, want a missing defaultLocale manifest", err)
	}
}

func TestScoop(t *testing.T) {
	dir := t.TempDir()
	sums := filepath.Join(dir, "checksums.txt")
	const a, b = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	if err := os.WriteFile(sums, []byte(a+"  drain_1.2.3_windows_amd64.zip\n"+b+"  drain_1.2.3_windows_arm64.zip\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := func(hash64 string) string {
		return `{"version":"1.2.3","architecture":{` +
			`"64bit":{"url":"https://github.com/drain-cli/drain/releases/download/v1.2.3/drain_1.2.3_windows_amd64.zip","bin":["drain.exe"],"hash":"` + hash64 + `"},` +
			`"arm64":{"url":"https://github.com/drain-cli/drain/releases/download/v1.2.3/drain_1.2.3_windows_arm64.zip","bin":["drain.exe"],"hash":"` + b + `"}},` +
			`"homepage":"https://github.com/drain-cli/drain","license":"NOASSERTION","description":"d"}`
	}
	write := func(s string) string {
		p := filepath.Join(t.TempDir(), "drain.json")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := checkScoop(write(manifest(a)), sums, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ body, version, want string }{
		"wrong hash":    {manifest(b), "1.2.3", "checksums.txt says"},
		"wrong version": {manifest(a), "1.2.4", "version"},
		"not json":      {"{", "1.2.3", "not JSON"},
		"no bin":        {strings.Replace(manifest(a), `"bin":["drain.exe"],`, "", 1), "1.2.3", "bin"},
	} {
		if err := checkScoop(write(tc.body), sums, tc.version); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %q", name, err, tc.want)
		}
	}
}

// buildExe builds a tiny Windows program, with the given resource script
// compiled in when rc is not empty (by mingw's windres: another producer than
// the go-winres the release uses, so the parser is not fitted to one tool).
func buildExe(t *testing.T, rc string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil && runtime.GOOS == "windows" {
		// The release is built and checked on Linux (scripts/release-check.sh);
		// this package's Windows build runs under Wine, which has no Go.
		t.Skip("no go toolchain here (the Linux run builds the exe)")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module tiny\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() {}\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if rc != "" {
		windres, err := exec.LookPath("x86_64-w64-mingw32-windres")
		if err != nil {
			t.Skip("no x86_64-w64-mingw32-windres (scripts/wine/setup.sh installs it)")
		}
		if err := os.WriteFile(filepath.Join(dir, "v.rc"), []byte(rc), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(windres, "-i", "v.rc", "-O", "coff", "-o", "rsrc_windows_amd64.syso")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("windres: %v\n%s", err, out)
		}
	}
	cmd := exec.Command("go", "build", "-o", "tiny.exe", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "tiny.exe")
}

const versionRC = `1 VERSIONINFO
FILEVERSION 1,2,3,0
PRODUCTVERSION 1,2,3,0
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "drain-cli"
      VALUE "FileDescription", "drain: take a web server out of rotation"
      VALUE "FileVersion", "1.2.3"
      VALUE "OriginalFilename", "drain.exe"
      VALUE "ProductName", "drain"
      VALUE "ProductVersion", "1.2.3-rc.1"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
`

func TestPEVersionResource(t *testing.T) {
	exe := buildExe(t, versionRC)
	if err := checkPE(exe, "1.2.3-rc.1"); err != nil {
		t.Fatal(err)
	}
	if err := checkPE(exe, "1.2.3"); err == nil || !strings.Contains(err.Error(), `ProductVersion is "1.2.3-rc.1"`) {
		t.Fatalf("err = %v, want a wrong ProductVersion", err)
	}
	noCompany := buildExe(t, strings.Replace(versionRC, `VALUE "CompanyName", "drain-cli"`, "", 1))
	if err := checkPE(noCompany, "1.2.3-rc.1"); err == nil || !strings.Contains(err.Error(), "no CompanyName") {
		t.Fatalf("err = %v, want a missing CompanyName", err)
	}
}

// A plain go build has no resources at all: what a release without the
// go-winres hook would ship.
func TestPENoVersionResource(t *testing.T) {
	exe := buildExe(t, "")
	err := checkPE(exe, "1.2.3")
	if err == nil || !strings.Contains(err.Error(), "no .rsrc section") {
		t.Fatalf("err = %v, want no version resource", err)
	}
}

//go:build !windows

package e2e

import (
	"archive/zip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestChocolateyPackage: scripts/chocolatey writes the Chocolatey package of
// a release (built from this tree, windows/amd64 and windows/arm64 zips and
// their checksums.txt, as goreleaser lays them out) and scripts/releasecheck
// checks it as release-check.sh does: a well-formed nuspec with the
// required fields and the licence, each zip's URL and SHA-256 in
// chocolateyinstall.ps1 equal to checksums.txt's and to the zip's own, and
// both scripts pass the PowerShell parse check. Bad input to the generator
// (a zip checksums.txt does not list, a version or URL that is not one)
// exits 2 with one line and writes nothing; the check refuses a zip that
// changed, a nuspec without its licence and one that is not XML.
func TestChocolateyPackage(t *testing.T) {
	root, err := filepath.Abs("../..")
	must(t, err)
	bin := t.TempDir()
	for _, tool := range []string{"chocolatey", "releasecheck"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, tool), "./scripts/"+tool)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./scripts/%s: %v\n%s", tool, err, out)
		}
	}
	// The package never opens the zips, only hashes them: the arm64 zip
	// holds the amd64 build (an arm64 build of the whole tree costs a
	// minute of CI on a cold cache, the amd64 one is cached by the Wine tests).
	rel := fakeRelease(t, "1.2.3", "windows/amd64")
	exeDir := t.TempDir()
	unzipped := filepath.Join(exeDir, "drain.exe")
	writeZipFrom(t, filepath.Join(rel, "drain_1.2.3_windows_amd64.zip"), unzipped)
	writeZip(t, filepath.Join(rel, "drain_1.2.3_windows_arm64.zip"), unzipped, "drain.exe")
	zsums := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		zip := "drain_1.2.3_windows_" + arch + ".zip"
		zsums[zip] = fileSHA256(t, filepath.Join(rel, zip))
	}
	writeChecksums(t, rel, zsums)
	sums := filepath.Join(rel, "checksums.txt")
	generate := func(out string, args ...string) (int, string) {
		cmd := exec.Command(filepath.Join(bin, "chocolatey"), append([]string{"-out", out}, args...)...)
		cmd.Dir = root
		b, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(b)
	}
	check := func(dir string) (int, string) {
		cmd := exec.Command(filepath.Join(bin, "releasecheck"), "chocolatey", dir, sums, "1.2.3")
		b, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(b)
	}

	pkg := filepath.Join(t.TempDir(), "chocolatey")
	if code, out := generate(pkg, "-version", "v1.2.3", "-checksums", sums); code != 0 {
		t.Fatalf("scripts/chocolatey: exit %d\n%s", code, out)
	}
	if code, out := check(pkg); code != 0 {
		t.Fatalf("releasecheck chocolatey: exit %d\n%s", code, out)
	}
	install := string(mustRead(t, filepath.Join(pkg, "tools", "chocolateyinstall.ps1")))
	for _, arch := range []string{"amd64", "arm64"} {
		zip := "drain_1.2.3_windows_" + arch + ".zip"
		if want := fileSHA256(t, filepath.Join(rel, zip)); !strings.Contains(install, "https://github.com/drain-cli/drain/releases/download/v1.2.3/"+zip+"'; $checksum = '"+want+"'") {
			t.Errorf("chocolateyinstall.ps1 does not download %s with its SHA-256 %s:\n%s", zip, want, install)
		}
	}
	// TestPowerShellParses parse-checks both scripts as scripts/chocolatey writes them.

	// Bad input: one line, exit 2, nothing written.
	onlyAMD64 := filepath.Join(t.TempDir(), "checksums.txt")
	var kept []string
	for _, line := range strings.Split(string(mustRead(t, sums)), "\n") {
		if !strings.Contains(line, "arm64") {
			kept = append(kept, line)
		}
	}
	must(t, os.WriteFile(onlyAMD64, []byte(strings.Join(kept, "\n")), 0o644))
	for _, bad := range [][]string{
		{"-version", "1.2.3", "-checksums", onlyAMD64},
		{"-version", "1.2.3'; Remove-Item C:\\", "-checksums", sums},
		{"-version", "1.2.3", "-checksums", sums, "-base-url", "https://mirror.example/'+$(iex evil)+'"},
		{"-version", "1.2.3", "-checksums", sums, "-base-url", "file:///srv/drain"},
	} {
		out := filepath.Join(t.TempDir(), "pkg")
		code, msg := generate(out, bad...)
		if code != 2 || strings.Count(strings.TrimSpace(msg), "\n") != 0 || !strings.HasPrefix(msg, "chocolatey: ") {
			t.Errorf("scripts/chocolatey %q: exit %d, want 2 and one line:\n%s", bad, code, msg)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("scripts/chocolatey %q wrote %s", bad, out)
		}
	}

	// The check fails when it should.
	for name, spoil := range map[string]func(dir string){
		"no licence": func(dir string) {
			p := filepath.Join(dir, "drain.nuspec")
			s := string(mustRead(t, p))
			i, j := strings.Index(s, "<licenseUrl>"), strings.Index(s, "</licenseUrl>")
			must(t, os.WriteFile(p, []byte(s[:i]+s[j+len("</licenseUrl>"):]), 0o644))
		},
		"not XML": func(dir string) {
			p := filepath.Join(dir, "drain.nuspec")
			must(t, os.WriteFile(p, []byte(strings.Replace(string(mustRead(t, p)), "</metadata>", "", 1)), 0o644))
		},
		"a placeholder left": func(dir string) {
			p := filepath.Join(dir, "tools", "chocolateyuninstall.ps1")
			must(t, os.WriteFile(p, append(mustRead(t, p), "# @VERSION@\n"...), 0o644))
		},
	} {
		dir := filepath.Join(t.TempDir(), "pkg")
		if code, out := generate(dir, "-version", "1.2.3", "-checksums", sums); code != 0 {
			t.Fatalf("scripts/chocolatey: exit %d\n%s", code, out)
		}
		spoil(dir)
		if code, out := check(dir); code != 1 {
			t.Errorf("releasecheck chocolatey passed a package with %s (exit %d)\n%s", name, code, out)
		}
	}
	zip := filepath.Join(rel, "drain_1.2.3_windows_arm64.zip")
	b := mustRead(t, zip)
	must(t, os.WriteFile(zip, append(b, 0), 0o644))
	if code, out := check(pkg); code != 1 || !strings.Contains(out, "drain_1.2.3_windows_arm64.zip is ") {
		t.Errorf("releasecheck chocolatey passed a zip that changed after checksums.txt (exit %d)\n%s", code, out)
	}
}

// writeZipFrom extracts drain.exe from a release zip into path.
func writeZipFrom(t *testing.T, zipPath, path string) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	must(t, err)
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "drain.exe" {
			continue
		}
		r, err := f.Open()
		must(t, err)
		b, err := io.ReadAll(r)
		_ = r.Close()
		must(t, err)
		must(t, os.WriteFile(path, b, 0o755))
		return
	}
	t.Fatalf("%s has no drain.exe", zipPath)
}

//go:build !windows

package e2e

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// A fake release directory, laid out as the release workflow publishes one
// (.goreleaser.yaml): drain_VERSION_OS_ARCH.tar.gz (.zip for Windows), each
// holding the binary and README.md, and checksums.txt with their SHA-256
// ("HASH  NAME" lines, as sha256sum writes them). The binaries are built
// from this tree with the version linked in, so `drain version` tells which
// one was installed. The install tests (the Ansible role, the setup
// action's scripts) serve it over a local HTTP server: no network.

// fakeRelease builds the release of version for each GOOS/GOARCH in targets
// into a new directory and returns it.
func fakeRelease(t *testing.T, version string, targets ...string) string {
	t.Helper()
	dir := t.TempDir()
	sums := map[string]string{}
	for _, target := range targets {
		goos, goarch, _ := strings.Cut(target, "/")
		exe := "drain"
		if goos == "windows" {
			exe = "drain.exe"
		}
		bin := filepath.Join(t.TempDir(), exe)
		cmd := exec.Command("go", "build", "-o", bin,
			"-ldflags", "-s -w -X github.com/drain-cli/drain/internal/cli.version="+version,
			"github.com/drain-cli/drain/cmd/drain")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", target, err, out)
		}
		base := fmt.Sprintf("drain_%s_%s_%s", version, goos, goarch)
		var name string
		if goos == "windows" {
			name = base + ".zip"
			writeZip(t, filepath.Join(dir, name), bin, exe)
		} else {
			name = base + ".tar.gz"
			writeTarGz(t, filepath.Join(dir, name), bin, exe)
		}
		sums[name] = fileSHA256(t, filepath.Join(dir, name))
	}
	writeChecksums(t, dir, sums)
	return dir
}

// hostTarget is this machine's GOOS/GOARCH, the release an install here picks.
func hostTarget() string { return runtime.GOOS + "/" + runtime.GOARCH }

func writeChecksums(t *testing.T, dir string, sums map[string]string) {
	t.Helper()
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	must(t, os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(b.String()), 0o644))
}

// corruptChecksum replaces the SHA-256 of name in dir's checksums.txt by
// another valid-looking one: the archive no longer matches it.
func corruptChecksum(t *testing.T, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, "checksums.txt")
	b, err := os.ReadFile(p)
	must(t, err)
	var out []string
	found := false
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, n, _ := strings.Cut(line, "  ")
		if n == name {
			found = true
			other := sha256.Sum256([]byte("not " + sum))
			line = hex.EncodeToString(other[:]) + "  " + n
		}
		out = append(out, line)
	}
	if !found {
		t.Fatalf("%s not in checksums.txt", name)
	}
	must(t, os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644))
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	must(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func writeTarGz(t *testing.T, path, bin, exe string) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range []struct {
		name string
		mode int64
		data []byte
	}{
		{exe, 0o755, mustRead(t, bin)},
		{"README.md", 0o644, []byte("# drain\n")},
	} {
		must(t, tw.WriteHeader(&tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.data)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(e.data)
		must(t, err)
	}
	must(t, tw.Close())
	must(t, gz.Close())
}

func writeZip(t *testing.T, path, bin, exe string) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	defer f.Close()
	zw := zip.NewWriter(f)
	for name, data := range map[string][]byte{exe: mustRead(t, bin), "README.md": []byte("# drain\n")} {
		w, err := zw.Create(name)
		must(t, err)
		_, err = w.Write(data)
		must(t, err)
	}
	must(t, zw.Close())
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

func unmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
}

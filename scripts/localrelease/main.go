// Command localrelease builds a release of this tree laid out as the release
// workflow publishes one (.goreleaser.yaml): drain_VERSION_OS_ARCH.tar.gz
// (.zip for Windows) holding the binary, and checksums.txt ("HASH  NAME"),
// and can serve it on 127.0.0.1 as GitHub serves releases
// (URL/download/vVERSION/FILE), so the setup action and the install
// scripts run against it without network:
//
//	go run ./scripts/localrelease -dir DIR -version 0.0.0-ci -target linux/amd64,windows/amd64
//	go run ./scripts/localrelease -dir DIR -version 0.0.0-ci -target windows/amd64 -serve URLFILE
//
// With -serve it writes the base URL (http://127.0.0.1:PORT/download) to
// URLFILE once it listens, then serves until it is killed. The linux
// workflow's setup-action job runs it (.github/workflows/linux.yml).
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)

func main() {
	dir := flag.String("dir", "", "where the release goes (created)")
	version := flag.String("version", "0.0.0-local", "the release's version")
	targets := flag.String("target", "", "GOOS/GOARCH list, comma separated (default: this machine's)")
	serve := flag.String("serve", "", "serve the release on 127.0.0.1 and write its base URL to this file")
	flag.Parse()
	if *dir == "" || !versionRE.MatchString(*version) {
		fmt.Fprintln(os.Stderr, "localrelease: -dir and a release -version (1.2.3 or 1.2.3-rc.1) are required")
		os.Exit(2)
	}
	list := *targets
	if list == "" {
		out, err := exec.Command("go", "env", "GOOS", "GOARCH").Output()
		if err != nil {
			fail(err)
		}
		f := strings.Fields(string(out))
		list = f[0] + "/" + f[1]
	}
	if err := build(*dir, *version, strings.Split(list, ",")); err != nil {
		fail(err)
	}
	if *serve != "" {
		if err := serveRelease(*dir, *version, *serve); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "localrelease:", err)
	os.Exit(1)
}

func build(dir, version string, targets []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "localrelease")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sums := map[string]string{}
	for _, target := range targets {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(target), "/")
		if !ok {
			return fmt.Errorf("target %q: want GOOS/GOARCH", target)
		}
		exe := "drain"
		if goos == "windows" {
			exe = "drain.exe"
		}
		bin := filepath.Join(tmp, goos+"-"+goarch, exe)
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin,
			"-ldflags", "-s -w -X github.com/drain-cli/drain/internal/cli.version="+version, "./cmd/drain")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", target, err)
		}
		name := fmt.Sprintf("drain_%s_%s_%s", version, goos, goarch)
		var err error
		if goos == "windows" {
			name += ".zip"
			err = writeZip(filepath.Join(dir, name), bin, exe)
		} else {
			name += ".tar.gz"
			err = writeTarGz(filepath.Join(dir, name), bin, exe)
		}
		if err != nil {
			return err
		}
		if sums[name], err = fileSHA256(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(sums)) {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	return os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(b.String()), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeTarGz(path, bin, exe string) error {
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: exe, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

func writeZip(path, bin, exe string) error {
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	w, err := zw.Create(exe)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// serveRelease serves dir as URL/download/vVERSION/ on 127.0.0.1 and
// writes URL/download to urlFile once it listens.
func serveRelease(dir, version, urlFile string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	prefix := "/download/v" + version + "/"
	mux.Handle(prefix, http.StripPrefix(prefix, http.FileServer(http.Dir(dir))))
	base := "http://" + ln.Addr().String() + "/download"
	if err := os.WriteFile(urlFile, []byte(base+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "localrelease: serving", dir, "at", base+"/v"+version+"/")
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

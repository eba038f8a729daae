// Command chocolatey writes the Chocolatey package of a drain release from
// the template in packaging/chocolatey: the nuspec with the version, and
// tools/chocolateyinstall.ps1 with each Windows zip's URL and its SHA-256
// from the release's checksums.txt.
//
//	go run ./scripts/chocolatey -version 1.2.3 -checksums dist/checksums.txt -out dist/chocolatey
//
// -base-url is where releases are (BASE/vVERSION/ZIP; default GitHub's).
// Bad input (a version that is not one, a zip checksums.txt does not list, a
// URL that is not http(s) or holds a quote) writes nothing and exits 2. The
// release workflow runs it after goreleaser and packs the output with
// choco pack on Windows; scripts/release-check.sh and internal/e2e
// (TestChocolateyPackage) check what it writes with scripts/releasecheck.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	versionRE     = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
	sumRE         = regexp.MustCompile(`^[0-9a-f]{64}$`)
	placeholderRE = regexp.MustCompile(`@[A-Z0-9_]+@`)
)

func main() {
	version := flag.String("version", "", "the release's version (1.2.3)")
	checksums := flag.String("checksums", "", "the release's checksums.txt")
	out := flag.String("out", "", "where the package's files go (created)")
	base := flag.String("base-url", "https://github.com/drain-cli/drain/releases/download", "where releases are: BASE/vVERSION/ZIP")
	src := flag.String("src", "packaging/chocolatey", "the template")
	flag.Parse()
	if err := run(*version, *checksums, *out, *base, *src); err != nil {
		fmt.Fprintln(os.Stderr, "chocolatey:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func run(version, checksums, out, base, src string) error {
	version = strings.TrimPrefix(version, "v")
	if !versionRE.MatchString(version) {
		return usagef("-version %q is not a release version (hint: 1.2.3 or 1.2.3-rc.1)", version)
	}
	if checksums == "" || out == "" {
		return usagef("-checksums and -out are required (hint: -checksums dist/checksums.txt -out dist/chocolatey)")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(base, "'\"`$ ") {
		return usagef("-base-url %q is not an http(s) URL without quotes or spaces", base)
	}
	base = strings.TrimSuffix(base, "/")
	sums, err := readChecksums(checksums)
	if err != nil {
		return err
	}
	values := map[string]string{"@VERSION@": version}
	for _, arch := range []string{"amd64", "arm64"} {
		zip := fmt.Sprintf("drain_%s_windows_%s.zip", version, arch)
		sum, ok := sums[zip]
		if !ok {
			return usagef("%s does not list %s (hint: the release's checksums.txt, from goreleaser)", checksums, zip)
		}
		values["@URL_"+strings.ToUpper(arch)+"@"] = base + "/v" + version + "/" + zip
		values["@SHA256_"+strings.ToUpper(arch)+"@"] = sum
	}

	files := map[string][]byte{}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := string(b)
		for k, v := range values {
			text = strings.ReplaceAll(text, k, v)
		}
		if left := placeholderRE.FindString(text); left != "" {
			return fmt.Errorf("%s: %s is not filled in", p, left)
		}
		files[rel] = []byte(text)
		return nil
	})
	if err != nil {
		return err
	}
	if _, ok := files["drain.nuspec"]; !ok {
		return fmt.Errorf("%s has no drain.nuspec", src)
	}
	for rel, b := range files {
		p := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("chocolatey: %s (drain %s, windows amd64 %s, arm64 %s)\n", out, version, values["@SHA256_AMD64@"], values["@SHA256_ARM64@"])
	return nil
}

// readChecksums reads sha256sum's "HASH  NAME" lines.
func readChecksums(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, usagef("%v", err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || !sumRE.MatchString(sum) {
			continue
		}
		sums[strings.TrimPrefix(name, "*")] = sum
	}
	return sums, sc.Err()
}

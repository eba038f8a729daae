// Command gendocs writes what the release packages ship besides the binary:
// man pages (from the cobra commands, like docs/cli) and shell completions.
// The goreleaser before-hook runs it into a gitignored folder:
//
//	go run ./scripts/gendocs -out .tmp/release -version v1.2.3 -date 2026-11-29T12:00:00Z
//
// It writes OUT/man/*.1.gz and OUT/completions/{drain.bash,_drain,drain.fish,drain.ps1},
// after removing whatever an earlier run left in OUT.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/drain-cli/drain/internal/cli"
	"github.com/drain-cli/drain/internal/iostreams"
)

func main() {
	out := flag.String("out", "", "folder to write man/ and completions/ into (emptied first)")
	version := flag.String("version", "dev", "version named in the man pages")
	date := flag.String("date", "", "date of the man pages, RFC 3339 (default: now); the release passes the commit date so builds repeat")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/gendocs -out DIR [-version V] [-date RFC3339]")
		os.Exit(2)
	}
	when := time.Now()
	if *date != "" {
		t, err := time.Parse(time.RFC3339, *date)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gendocs: -date %q: %v\n", *date, err)
			os.Exit(2)
		}
		// A snapshot outside a clone (no git) passes the zero time.
		if t.Year() > 1980 {
			when = t
		}
	}
	if err := run(*out, *version, when); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(out, version string, when time.Time) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	ios, _, _ := iostreams.Test()
	root := cli.NewRootCmd(cli.NewFactory(ios))
	// The completion command cobra adds at Execute time: the pages list it,
	// and the completions below are what `drain completion SHELL` prints.
	root.InitDefaultCompletionCmd()
	root.DisableAutoGenTag = true

	man := filepath.Join(out, "man")
	if err := manPages(root, man, version, when); err != nil {
		return err
	}
	comp := filepath.Join(out, "completions")
	if err := os.MkdirAll(comp, 0o755); err != nil {
		return err
	}
	for name, gen := range map[string]func(*bytes.Buffer) error{
		"drain.bash": func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) },
		"_drain":     func(b *bytes.Buffer) error { return root.GenZshCompletion(b) },
		"drain.fish": func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) },
		// PowerShell's, for the Windows zip: . .\completions\drain.ps1 in
		// the profile.
		"drain.ps1": func(b *bytes.Buffer) error { return root.GenPowerShellCompletionWithDesc(b) },
	} {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			return fmt.Errorf("completion %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(comp, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// manPages writes one gzipped page per command (drain.1.gz, drain-run.1.gz, ...),
// as Debian and RPM systems keep them under /usr/share/man/man1.
func manPages(root *cobra.Command, dir, version string, when time.Time) error {
	tmp, err := os.MkdirTemp("", "drain-man")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	header := &doc.GenManHeader{
		Title:   "DRAIN",
		Section: "1",
		Date:    &when,
		Source:  "drain " + version,
		Manual:  "drain manual",
	}
	if err := doc.GenManTree(root, header, tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pages, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, p := range pages {
		if !strings.HasSuffix(p.Name(), ".1") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(tmp, p.Name()))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.ModTime = when // the same bytes for the same commit
		if _, err := zw.Write(src); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.Name()+".gz"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if len(pages) == 0 {
		return fmt.Errorf("no man pages generated")
	}
	return nil
}

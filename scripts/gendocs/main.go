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
// as Debian and RPM systems keep them under /usr/share/man/man1. Each has
// its EXIT STATUS (from the commands' table, taken out of the DESCRIPTION
// where --help shows it) and, for drain(1) and the commands that read
// settings, ENVIRONMENT and FILES.
func manPages(root *cobra.Command, dir, version string, when time.Time) error {
	header := &doc.GenManHeader{
		Title:   "DRAIN",
		Section: "1",
		Date:    &when,
		Source:  "drain " + version,
		Manual:  "drain manual",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// Those GenManTree leaves out: help, hidden ones (__complete).
		if !c.IsAvailableCommand() && c.HasParent() || c.IsAdditionalHelpTopicCommand() {
			return
		}
		cmds = append(cmds, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// Every page first without its EXIT STATUS in the description: SEE
	// ALSO shows the parent's and children's short lines only.
	longs := map[*cobra.Command]string{}
	for _, c := range cmds {
		longs[c] = c.Long
		if i := strings.Index(c.Long, "\n"+cli.ExitStatusHeading+"\n"); i >= 0 {
			c.Long = strings.TrimRight(c.Long[:i], "\n") + "\n"
		}
	}
	defer func() {
		for c, l := range longs {
			c.Long = l
		}
	}()
	for _, c := range cmds {
		var page bytes.Buffer
		if err := doc.GenMan(c, header, &page); err != nil {
			return err
		}
		src := withSections(page.String(), manSections(c))
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.ModTime = when // the same bytes for the same commit
		if _, err := zw.Write([]byte(src)); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1.gz"
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if len(cmds) == 0 {
		return fmt.Errorf("no man pages generated")
	}
	return nil
}

// manSections are the roff sections of c's page that cobra does not make.
func manSections(c *cobra.Command) string {
	var b strings.Builder
	if codes := cli.ExitCodes(c); len(codes) > 0 {
		b.WriteString(".SH EXIT STATUS\n")
		for _, e := range codes {
			fmt.Fprintf(&b, ".TP\n.B %d\n%s\n", e.Code, roff(strings.Join(strings.Fields(e.Meaning), " ")))
		}
	}
	if c.HasParent() && c.Flags().Lookup("config") == nil {
		return b.String() // reads no settings
	}
	b.WriteString(".SH ENVIRONMENT\n")
	for _, e := range cli.Environment() {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(e.Name), roff(e.Text))
	}
	b.WriteString(".SH FILES\n")
	for _, e := range cli.Files() {
		fmt.Fprintf(&b, ".TP\n.I %s\n%s\n", roff(e.Name), roff(e.Text))
	}
	return b.String()
}

// withSections puts sections before SEE ALSO (man-pages(7)'s order: EXIT
// STATUS, ENVIRONMENT, FILES come before it), or at the end.
func withSections(page, sections string) string {
	if i := strings.Index(page, ".SH SEE ALSO\n"); i >= 0 {
		return page[:i] + sections + page[i:]
	}
	return page + sections
}

// roff escapes text for a man page: backslashes, and a dot or quote that
// would start a line.
func roff(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\e")
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = "\\&" + s
	}
	return s
}

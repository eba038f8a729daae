package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/config"
)

// repoRoot is the repository, from this package's directory.
var repoRoot = filepath.Join("..", "..")

// markdownFiles are the README and every page under docs/.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md"), filepath.Join(repoRoot, "CHANGELOG.md")}
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	mdLink     = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	inlineCode = regexp.MustCompile("`[^`]*`")
	mdHeading  = regexp.MustCompile(`^#{1,6} (.*)$`)
	slugDrop   = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
)

// proseLines are a Markdown file's lines outside fenced code blocks, with
// inline code removed (a link shown as code is not a link).
func proseLines(text string) []string {
	var out []string
	fence := ""
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			switch {
			case fence == "":
				fence = t[:3]
			case strings.HasPrefix(t, fence):
				fence = ""
			}
			continue
		}
		if fence == "" {
			out = append(out, l)
		}
	}
	return out
}

// anchors are the GitHub anchors of a Markdown file's headings.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range proseLines(text) {
		m := mdHeading.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		a := strings.ReplaceAll(slugDrop.ReplaceAllString(strings.ToLower(strings.TrimSpace(m[1])), ""), " ", "-")
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		}
		seen[a]++
		out[a] = true
	}
	return out
}

// TestDocLinksResolve (issue 19): every relative link in the README and
// the docs pages names a file that exists, and an anchor that one of its
// headings makes: moving text between pages must not leave a link behind.
func TestDocLinksResolve(t *testing.T) {
	checked := 0
	for _, file := range markdownFiles(t) {
		b, err := os.ReadFile(file)
		if os.IsNotExist(err) && strings.HasSuffix(file, "CHANGELOG.md") {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for n, l := range proseLines(string(b)) {
			for _, m := range mdLink.FindAllStringSubmatch(inlineCode.ReplaceAllString(l, ""), -1) {
				target := m[1]
				if regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`).MatchString(target) {
					continue // http:, https:, mailto:
				}
				checked++
				path, anchor, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				}
				db, err := os.ReadFile(dest)
				if err != nil {
					if fi, serr := os.Stat(dest); serr == nil && fi.IsDir() {
						continue
					}
					t.Errorf("%s (prose line %d): link %q: %v", file, n+1, target, err)
					continue
				}
				if anchor != "" && strings.HasSuffix(dest, ".md") && !anchors(string(db))[anchor] {
					t.Errorf("%s (prose line %d): link %q: %s has no heading with the anchor #%s", file, n+1, target, dest, anchor)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d relative links checked: the link pattern is broken", checked)
	}
}

// TestReadmeIsShortAndLinksEveryPage (issue 19): the README stays a few
// screens long and links every page under docs/ (the CLI reference through
// its index).
func TestReadmeIsShortAndLinksEveryPage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if n := strings.Count(readme, "\n"); n > 260 {
		t.Errorf("README.md has %d lines; keep it under about 250 and move the rest to docs/", n)
	}
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 8 {
		t.Fatalf("only %d pages under docs/", len(pages))
	}
	for _, p := range append(pages, filepath.Join(repoRoot, "docs", "cli", "drain.md")) {
		rel := "docs/" + filepath.ToSlash(strings.TrimPrefix(p, filepath.Join(repoRoot, "docs")+string(filepath.Separator)))
		if !strings.Contains(readme, "("+rel+")") && !strings.Contains(readme, "("+rel+"#") {
			t.Errorf("README.md does not link %s", rel)
		}
	}
}

// TestConfigDocListsEveryKey: every setting (config.Keys) has a row in the
// table of docs/configuration.md, and the table names no key that does not
// exist.
func TestConfigDocListsEveryKey(t *testing.T) {
	rows := tableTypes(docSection(t, "docs/configuration.md", "## Configuration"))
	for _, k := range config.Keys {
		if !rows[k.Name] {
			t.Errorf("setting %s has no row in the table of docs/configuration.md", k.Name)
		}
		delete(rows, k.Name)
	}
	for name := range rows {
		if name != config.RotationKey {
			t.Errorf("docs/configuration.md has a row for %s, which is no setting", name)
		}
	}
}

package rotation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every registered method type has a row in the Rotation table (moved from
// the README to docs/balancers.md, issue 19),
// with its target syntax, and the table names no type that is not
// registered: adding a method means documenting it.
func TestReadmeRotationTableMatchesRegistry(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "balancers.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	start := strings.Index(text, "\n## Rotation\n")
	if start < 0 {
		t.Fatal("docs/balancers.md has no ## Rotation section")
	}
	section := text[start+1:]
	if end := strings.Index(section[1:], "\n#"); end >= 0 {
		section = section[:end+1]
	}
	rows := map[string]string{} // type -> target cell
	for _, l := range strings.Split(section, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = cells[2]
	}
	if len(rows) == 0 {
		t.Fatal("no table rows found in the Rotation section")
	}
	for _, ty := range Types() {
		target, ok := rows[ty.Name]
		if !ok {
			t.Errorf("type %s is registered but has no row in the Rotation table of docs/balancers.md", ty.Name)
			continue
		}
		if !strings.Contains(target, "`"+ty.Syntax+"`") {
			t.Errorf("docs/balancers.md row of %s: target %q does not show its syntax `%s`", ty.Name, strings.TrimSpace(target), ty.Syntax)
		}
		delete(rows, ty.Name)
	}
	for name := range rows {
		t.Errorf("the Rotation table of docs/balancers.md has %s, which is not a registered type", name)
	}
}

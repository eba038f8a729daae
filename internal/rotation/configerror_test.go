package rotation

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestUsageErrorsSayTheirWholeMessage: a usage error is made by
// configErrorf, whose text is the message the user sees; one made by
// fmt.Errorf("%w: ...", ErrConfig) would say "rotation: ..." and tempt a
// caller to cut that off again. (A branch merged with such sites: rewrite
// them with configErrorf("...", args).)
func TestUsageErrorsSayTheirWholeMessage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	wrapped := regexp.MustCompile(`fmt\.Errorf\("%w[^"]*",\s*ErrConfig\b`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range wrapped.FindAllIndex(b, -1) {
			t.Errorf("%s: %s: use configErrorf", f, b[m[0]:m[1]])
		}
	}
}

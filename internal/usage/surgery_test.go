package usage

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rewrites are the strings functions that cut or rewrite text.
var rewrites = map[string]bool{
	"TrimPrefix": true, "TrimSuffix": true, "Trim": true, "TrimLeft": true, "TrimRight": true,
	"Replace": true, "ReplaceAll": true, "Cut": true, "CutPrefix": true, "CutSuffix": true,
	"Split": true, "SplitN": true, "SplitAfter": true, "Fields": true,
	"Index": true, "IndexByte": true, "LastIndex": true, "IndexAny": true,
}

// surgeryAllowed are functions that make a foreign library's multi-line
// error one line to show it (no drain package's message is edited there).
var surgeryAllowed = map[string]string{
	"internal/awselb/awselb.go:oneLine": "the AWS SDK's retry error spans lines",
	"internal/config/config.go:oneLine": "an OS error of reading a file, shown on one line",
}

// usageMakers build a usage error from a format: one whose whole format is
// "%v", "%s" or "%w" of another error re-makes that error's text as a new
// message (its type, flag and hint lost) instead of adding a hint to it
// (WithHint).
var usageMakers = map[string]bool{"usageErr": true, "usageErrorf": true, "configErrorf": true, "New": true, "Errorf": true}

// TestNoCodeEditsAnotherErrorsText: every error is built once, where the
// problem is found; no code cuts or rewrites an error's text (err.Error()
// given to strings.TrimPrefix, Replace, Cut, ..., directly or through a
// variable), re-makes a usage error from another's text (usageErr(hint,
// "%v", err)), or copies an error's text into a usage error (Msg:
// err.Error()).
func TestNoCodeEditsAnotherErrorsText(t *testing.T) {
	root := filepath.Join("..", "..")
	var found []string
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || name == ".git" || strings.HasPrefix(name, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "internal/") && !strings.HasPrefix(rel, "cmd/") || strings.Contains(rel, "test/") {
			return nil // test stand-ins (internal/*test/) report as their servers do
		}
		n++
		found = append(found, surgery(t, path, rel)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("read %d Go files: the walk missed the repository", n)
	}
	for _, f := range found {
		t.Error(f)
	}
}

func surgery(t *testing.T, path, rel string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		if _, ok := surgeryAllowed[rel+":"+fn.Name.Name]; ok {
			continue
		}
		out = append(out, surgeryIn(fset, fn.Body)...)
	}
	return out
}

// errorText says whether e is x.Error() or a variable assigned from one.
func errorText(e ast.Expr, vars map[string]bool) bool {
	switch e := e.(type) {
	case *ast.CallExpr:
		sel, ok := e.Fun.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Error" && len(e.Args) == 0
	case *ast.Ident:
		return vars[e.Name]
	}
	return false
}

func surgeryIn(fset *token.FileSet, body *ast.BlockStmt) []string {
	vars := map[string]bool{} // names assigned an error's text
	var out []string
	at := func(n ast.Node, what string) {
		out = append(out, fset.Position(n.Pos()).String()+": "+what)
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, r := range n.Rhs {
				if id, ok := n.Lhs[min(i, len(n.Lhs)-1)].(*ast.Ident); ok && len(n.Lhs) == len(n.Rhs) && errorText(r, nil) {
					vars[id.Name] = true
				}
			}
		case *ast.KeyValueExpr:
			if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Msg" && errorText(n.Value, vars) {
				at(n, "a usage error's Msg copied from another error's text: give it as Err (the cause) or add a hint with usage.WithHint")
			}
		case *ast.CallExpr:
			name := ""
			switch fun := n.Fun.(type) {
			case *ast.SelectorExpr:
				if pkg, ok := fun.X.(*ast.Ident); ok && pkg.Name == "strings" && rewrites[fun.Sel.Name] && len(n.Args) > 0 && errorText(n.Args[0], vars) {
					at(n, "strings."+fun.Sel.Name+" on an error's text: make the error say it where it is made")
				}
				if pkg, ok := fun.X.(*ast.Ident); ok && pkg.Name == "usage" {
					name = fun.Sel.Name
				}
			case *ast.Ident:
				name = fun.Name
			}
			if !usageMakers[name] {
				return true
			}
			for i, a := range n.Args {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && (s == "%v" || s == "%s" || s == "%w") && i+1 < len(n.Args) && anError(n.Args[i+1]) {
					at(n, name+"(..., \""+s+"\", err) re-makes another error's text: use usage.WithHint(err, hint), or say what is wrong")
				}
			}
		}
		return true
	})
	return out
}

// anError says whether e looks like an error value: err, fooErr, x.err.
func anError(e ast.Expr) bool {
	var name string
	switch e := e.(type) {
	case *ast.Ident:
		name = e.Name
	case *ast.SelectorExpr:
		name = e.Sel.Name
	}
	return name == "err" || strings.HasSuffix(name, "Err") || strings.HasSuffix(name, "err")
}

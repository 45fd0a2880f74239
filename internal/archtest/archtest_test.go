package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// maxFuncLines is the longest a function may be, in lines, outside tests
// and the benchmark tool: one screen.
const maxFuncLines = 80

// root is the module root, from this package's directory.
const root = "../.."

// TestFunctionLength fails for every function (or function literal) of
// the shipped code longer than maxFuncLines.
func TestFunctionLength(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	var long []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || path == filepath.Join(root, "cmd", "svahub-bench")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || path == filepath.Join(root, "api", "docs.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var body *ast.BlockStmt
			switch x := n.(type) {
			case *ast.FuncDecl:
				body = x.Body
			case *ast.FuncLit:
				body = x.Body
			}
			if body != nil {
				if lines := fset.Position(body.End()).Line - fset.Position(n.Pos()).Line + 1; lines > maxFuncLines {
					long = append(long, fset.Position(n.Pos()).String())
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Empty(t, long, "functions longer than %d lines", maxFuncLines)
}

// TestImports checks that the domain imports none of svahub's packages and
// that the adapters (store, platform, httpapi) do not import each other.
func TestImports(t *testing.T) {
	t.Parallel()
	const mod = "github.com/svahub/svahub/"
	forbidden := map[string][]string{
		"internal/svahub":   {"internal/", "pkg/"},
		"internal/store":    {"internal/platform", "internal/httpapi", "internal/provision", "internal/app"},
		"internal/platform": {"internal/store", "internal/httpapi", "internal/provision", "internal/app"},
		"internal/httpapi":  {"internal/store", "internal/platform", "internal/provision", "internal/app"},
	}
	for pkg, bad := range forbidden {
		cmd := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "./"+pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		require.NoError(t, err, pkg)
		for _, imp := range strings.Fields(string(out)) {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			rel := strings.TrimPrefix(imp, mod)
			for _, b := range bad {
				require.False(t, strings.HasPrefix(rel, b), "%s must not import %s", pkg, rel)
			}
		}
	}
}

package layers

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportLayers parses every Go file of the module and checks each import
// of a ragr package against the layer table, like the Go toolchain's own
// dependency test. _test.go files may also import internal/testutil, and
// internal/devtest from above its layer.
func TestImportLayers(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if _, ok := Table[rel]; !ok {
			t.Errorf("%s: package %s is not in the layer table", path, rel)
			return nil
		}
		isTest := strings.HasSuffix(path, "_test.go")
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, Module+"/") {
				continue
			}
			to := strings.TrimPrefix(p, Module+"/")
			checked++
			if isTest && to == "internal/testutil" {
				continue
			}
			if isTest && to == "internal/devtest" {
				// test-only, and below the tests that use it
				if Table[to] >= Table[rel] {
					t.Errorf("%s: internal/devtest (layer %d) is not below %s (layer %d)", path, Table[to], rel, Table[rel])
				}
				continue
			}
			if ok, why := Allowed(rel, to); !ok {
				t.Errorf("%s: %s", path, why)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d ragr imports checked", checked)
}

func TestAllowed(t *testing.T) {
	cases := []struct {
		from, to string
		ok       bool
	}{
		{"tensor", "kernels/cpu", true},
		{"kernels/cpu", "tensor", false},
		{"nn", "losses", false},
		{"losses", "nn", false},
		{"nn/optim", "nn", true},
		{"nn", "nn/optim", false},
		{"models/bert", "models", true},
		{"models/bert", "models/tokenizer", true},
		{"models/tokenizer", "models", false},
		{"cmd/ragr", "train", true},
		{"train", "rerank", false},
		{"autograd", "nn", false},
		{"tensor", "internal/testutil", false},
		{"train", "internal/devtest", false},
		{"internal/devtest", "nn/optim", true},
		{"nowhere", "tensor", false},
	}
	for _, c := range cases {
		ok, why := Allowed(c.from, c.to)
		if ok != c.ok {
			t.Errorf("Allowed(%q, %q) = %v (%s), want %v", c.from, c.to, ok, why, c.ok)
		}
	}
}

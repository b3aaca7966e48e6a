package model_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/synth"
)

// yamlFiles is every YAML file of the repository.
func yamlFiles(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree checks that when the fast reader takes src, it builds exactly
// the tree the yaml/v3 path builds, and reports whether it took it.
func sameTree(t *testing.T, name string, src []byte, lim model.Limits) bool {
	t.Helper()
	got, ok := model.ParseFast(src, lim)
	if !ok {
		return false
	}
	want, ds := model.ParseYAMLv3(name, src, lim)
	if want == nil || len(ds) > 0 {
		t.Fatalf("%s: the fast reader took what the yaml/v3 path refuses: %v", name, ds)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: the fast reader's tree differs from yaml/v3's", name)
	}
	return true
}

var generous = model.Limits{MaxBytes: 1 << 30, MaxDepth: 64, MaxNodes: 1 << 24}

// The fast reader gives the loader the same tree as yaml/v3 on every YAML
// file of the repository and on generated models, which it must take.
func TestFastReaderSameTree(t *testing.T) {
	taken := 0
	files := yamlFiles(t)
	for name, src := range files {
		if sameTree(t, name, src, model.DefaultLimits) {
			taken++
		}
	}
	t.Logf("fast reader took %d of %d files", taken, len(files))
	scaled, err := synth.Scale(1)
	if err != nil {
		t.Fatal(err)
	}
	// Over 1 MB, nodes come from blocks made ahead on another goroutine.
	large := synth.Model(5000)
	if len(large) <= 1<<20 {
		t.Fatalf("the large model is only %d bytes", len(large))
	}
	for name, src := range map[string][]byte{"scale-1": scaled, "synthetic-500": synth.Model(500), "synthetic-5000": large} {
		if !sameTree(t, name, src, generous) {
			t.Errorf("%s: the fast reader did not take a generated model", name)
		}
	}
}

// Limits and duplicate keys send a file to the yaml/v3 path, which
// reports them as before.
func TestFastReaderStepsAside(t *testing.T) {
	deep := "mlthreat: 1\nx-deep: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n"
	for name, src := range map[string]string{
		"too deep":      deep,
		"duplicate key": "mlthreat: 1\nsystem: {id: a}\nsystem: {id: b}\n",
		"dup in flow":   "mlthreat: 1\nsystem: {id: a, id: b}\n",
		"alias":         "mlthreat: 1\nsystem: &s {id: a}\nx: *s\n",
	} {
		if _, ok := model.ParseFast([]byte(src), model.DefaultLimits); ok {
			t.Errorf("%s: the fast reader took it", name)
		}
	}
	lim := model.Limits{MaxBytes: 1 << 20, MaxDepth: 3, MaxNodes: 100}
	if !sameTree(t, "depth 3", []byte("a:\n  b: c\n"), lim) {
		t.Error("depth 3 within a limit of 3 was refused")
	}
	if _, ok := model.ParseFast([]byte("a:\n  b: [c]\n"), lim); ok {
		t.Error("depth 4 within a limit of 3 was taken")
	}
	if _, ds := model.Load("deep.yaml", []byte(deep), model.DefaultLimits); len(ds) == 0 || ds[0].Code != "too-deep" {
		t.Errorf("deep: %v", ds)
	}
}

// FuzzFastReader: whatever the fast reader takes, the yaml/v3 path reads
// to the same tree.
func FuzzFastReader(f *testing.F) {
	for _, src := range yamlFiles(f) {
		if len(src) < 8192 {
			f.Add(src)
		}
	}
	f.Add([]byte(minimal))
	lim := model.Limits{MaxBytes: 1 << 20, MaxDepth: 8, MaxNodes: 20_000}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameTree(t, "fuzz", b, lim)
	})
}

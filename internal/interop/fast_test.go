package interop_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/interop"
	"github.com/mlthreat/mlthreat/internal/interop/threagile"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/synth"
)

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
// the tree yaml/v3's path builds, and reports whether it took it.
func sameTree(t *testing.T, name string, src []byte, lim interop.Limits) bool {
	t.Helper()
	got, ok := interop.ParseFast(src, lim)
	if !ok {
		return false
	}
	want, ds := interop.ParseSlow(name, src, lim, "test file")
	if want == nil || len(ds) > 0 {
		t.Fatalf("%s: the fast reader took what the yaml/v3 path refuses: %v", name, ds)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: the fast reader's tree differs from yaml/v3's", name)
	}
	return true
}

// threagileOf writes the model src as Threagile YAML.
func threagileOf(t testing.TB, src []byte) []byte {
	sys, ds := model.Load("gen.yaml", src, model.Limits{MaxBytes: 1 << 30, MaxDepth: 64, MaxNodes: 1 << 24})
	if sys == nil || ds.Errors() > 0 {
		t.Fatal(ds)
	}
	var b bytes.Buffer
	if err := threagile.Write(&b, sys); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The fast reader gives the importers the same tree as yaml/v3 on every
// YAML file of the repository, and takes the Threagile files mlthreat gen
// writes.
func TestFastReaderSameTree(t *testing.T) {
	taken := 0
	files := yamlFiles(t)
	for name, src := range files {
		if sameTree(t, name, src, interop.DefaultLimits) {
			taken++
		}
	}
	t.Logf("fast reader took %d of %d files", taken, len(files))
	scaled, err := synth.Scale(1)
	if err != nil {
		t.Fatal(err)
	}
	// Over 1 MB, nodes come from blocks made ahead on another goroutine.
	large := threagileOf(t, synth.Model(1500))
	if len(large) <= 1<<20 {
		t.Fatalf("the large file is only %d bytes", len(large))
	}
	for name, src := range map[string][]byte{"scale-1": threagileOf(t, scaled), "synthetic-300": threagileOf(t, synth.Model(300)), "synthetic-1500": large} {
		if !sameTree(t, name, src, interop.DefaultLimits) {
			t.Errorf("%s: the fast reader did not take a Threagile file mlthreat gen writes", name)
		}
	}
}

// Limits, null keys and duplicate keys send a file to the yaml/v3 path,
// which reports them as before.
func TestFastReaderStepsAside(t *testing.T) {
	lim := interop.Limits{MaxBytes: 1 << 20, MaxDepth: 3, MaxNodes: 10, MaxElements: 10}
	for name, src := range map[string]string{
		"duplicate key":      "a: 1\nb: 2\na: 3\n",
		"duplicate, large":   bigMapWithDup(),
		"null key":           "~: 1\n",
		"too deep":           "a: {b: {c: {d: 1}}}\n",
		"too many values":    "a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
		"merge key":          "a: &a {x: 1}\nb:\n  <<: *a\n",
		"two documents":      "a: 1\n---\nb: 2\n",
		"kept block scalar":  "a: |+\n  text\n",
		"multi-line plain":   "a: one\n  two\n",
		"tab":                "a:\t1\n",
		"unterminated quote": "a: \"x\n",
	} {
		if _, ok := interop.ParseFast([]byte(src), lim); ok {
			t.Errorf("%s: the fast reader took it", name)
		}
		fast, fds := interop.ParseYAML("f.yaml", []byte(src), lim, "test file")
		slow, sds := interop.ParseSlow("f.yaml", []byte(src), lim, "test file")
		if !reflect.DeepEqual(fast, slow) || !reflect.DeepEqual(fds, sds) {
			t.Errorf("%s: ParseYAML differs from the yaml/v3 path: %v / %v", name, fds, sds)
		}
	}
	if !sameTree(t, "within limits", []byte("a: {b: [1, 2]}\n"), lim) {
		t.Error("a file within the limits was refused")
	}
}

func bigMapWithDup() string {
	var b strings.Builder
	for i := range 100 {
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(": v\n")
	}
	b.WriteString("kxx: again\n")
	return b.String()
}

// FuzzFastReader: whatever the fast reader takes, the yaml/v3 path reads
// to the same tree.
func FuzzFastReader(f *testing.F) {
	for _, src := range yamlFiles(f) {
		if len(src) < 8192 {
			f.Add(src)
		}
	}
	lim := interop.Limits{MaxBytes: 1 << 20, MaxDepth: 8, MaxNodes: 20_000, MaxElements: 1000}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameTree(t, "fuzz", b, lim)
	})
}

// Package interoptest holds what the importers' and exporters' tests share:
// golden files, validating an imported model with the real validator, and
// analysing the examples as the report goldens do. Only tests import it.
package interoptest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/interop"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Today is the date goldens are analysed at.
var Today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// Golden compares got with the file, or rewrites it under -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs; if the change is intended, rerun with -update and review the diff", path)
	}
}

// Valid writes m as YAML and checks it with the real validator: no errors,
// and no warnings other than those allowed.
func Valid(t testing.TB, m *interop.Model) (*model.System, []byte) {
	t.Helper()
	y, err := m.YAML()
	if err != nil {
		t.Fatal(err)
	}
	s, ds := model.Load("imported.yaml", y, model.Limits{MaxBytes: 256 << 20, MaxDepth: 64, MaxNodes: 1 << 24})
	if s != nil {
		ds = append(ds, validate.Frameworks(s, catalog.Default())...)
	}
	if s == nil || ds.Errors() > 0 {
		t.Fatalf("imported model is invalid:\n%v\n%s", ds, firstLines(y, 60))
	}
	return s, y
}

func firstLines(b []byte, n int) []byte {
	lines := bytes.SplitAfterN(b, []byte("\n"), n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return bytes.Join(lines, nil)
}

// Examples lists the bundled examples' system.yaml files.
func Examples(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(Root(t), "examples", "*", "system.yaml"))
	if err != nil || len(paths) < 5 {
		t.Fatalf("want the 5 examples, found %d (%v)", len(paths), err)
	}
	return paths
}

// Root is the repository root.
func Root(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// Analyze analyses a model file as the report goldens do.
func Analyze(t testing.TB, path string) *analysis.Report {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	s, ds := validate.File(path, cat, model.DefaultLimits)
	if s == nil || ds.Errors() > 0 {
		t.Fatal(ds)
	}
	rel, err := filepath.Rel(Root(t), path)
	if err == nil {
		s.File = filepath.ToSlash(rel)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: Today})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Shape is what a round trip must keep: every zone, component, flow and
// data item with its kind, trust or ends.
func Shape(s *model.System) map[string]string {
	out := map[string]string{}
	for _, z := range s.Zones {
		out["zone "+z.ID] = z.Trust
	}
	for _, c := range s.Components {
		out["component "+c.ID] = c.Kind + " in " + c.Zone
	}
	for _, f := range s.Flows {
		out["flow "+f.ID] = f.From + " -> " + f.To
	}
	for _, d := range s.Data {
		out["data "+d.ID] = d.Classification
	}
	return out
}

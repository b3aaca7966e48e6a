package validate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// FuzzValidate runs the whole validator, framework checks included, on
// arbitrary bytes: it must never panic and must always position its errors.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(base + "threats:\n  - {id: t, title: poisoning, technique: T1059, owasp: [LLM1], rmf: [GV-1.1]}\n"))
	f.Add([]byte(base + "controls:\n  - {id: c, mitigates: [AML.T0024, AML.M9, x], rmf: [MAP, MAP 9, zz]}\n"))
	if b, err := os.ReadFile("../../examples/sentiment-api/system.yaml"); err == nil {
		f.Add(b)
	}
	cat := catalog.Default()
	lim := model.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxNodes: 20_000}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "f.yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Skip()
		}
		s, ds := validate.File(path, cat, lim)
		if s == nil && ds.Errors() == 0 {
			t.Fatal("no system and no error")
		}
		for _, d := range ds {
			if d.Message == "" {
				t.Fatalf("empty message %+v", d)
			}
		}
	})
}

package model_test

import (
	"testing"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/model"
)

// FuzzLoad: no input may panic, every diagnostic has a message, and a model
// without errors decodes to a System.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(""))
	f.Add([]byte("mlthreat: 1\nsystem: {id: a, name: A}\ncomponents: [{id: x, kind: llm, props: {a: &a [1, *a]}}]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("<<: {a: 1}\n"))
	f.Add([]byte("mlthreat: 1\nsystem: {id: a, name: A}\nflows: [{id: f, from: a, to: a}]\n"))
	lim := model.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxNodes: 20_000}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ds := model.Load("fuzz.yaml", b, lim)
		for _, d := range ds {
			if d.Message == "" || (d.Severity != diag.Error && d.Severity != diag.Warning) {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
		if ds.Errors() == 0 && s == nil {
			t.Fatal("no errors but no system")
		}
	})
}

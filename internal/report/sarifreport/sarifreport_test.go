package sarifreport_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/sarifreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// Every example's SARIF validates against the official SARIF 2.1.0 schema,
// has one rule per rule id and one result per open threat at a line.
func TestSARIFValidatesAgainstSchema(t *testing.T) {
	data := sharedtest.DataDir(t)
	f, err := os.Open(filepath.Join(data, "sarif", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	examples, _ := filepath.Glob(filepath.Join(sharedtest.RepoRoot(t), "examples", "*", "system.yaml"))
	for _, ex := range examples {
		s, ds := validate.File(ex, cat, model.DefaultLimits)
		if ds.Errors() > 0 {
			t.Fatal(ds)
		}
		r, err := analysis.Analyze(s, cat, set, analysis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := (sarifreport.Writer{Version: "test"}).Write(&b, r); err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: SARIF does not validate: %v", ex, err)
		}
		out := b.String()
		open := 0
		for _, th := range r.Threats {
			if th.Status == "open" {
				open++
				if !strings.Contains(out, `"mlthreatThreatId/v1": "`+th.ID+`"`) {
					t.Errorf("%s: no fingerprint for %s", ex, th.ID)
				}
			}
		}
		if got := strings.Count(out, `"ruleId"`); got != open {
			t.Errorf("%s: %d results, want %d", ex, got, open)
		}
		if !strings.Contains(out, `"security-severity"`) || !strings.Contains(out, `"startLine"`) {
			t.Errorf("%s: missing security-severity or line", ex)
		}
	}
}

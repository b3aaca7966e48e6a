package generic_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mlthreat/mlthreat/internal/evidence/generic"
)

const schemaFile = "../../../schema/evidence.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("evidence.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("evidence.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// The schema and the reader agree: what one accepts the other does, on the
// fixtures, the schema's own example and a set of broken results.
func TestSchemaAgrees(t *testing.T) {
	sch := compileSchema(t)
	b, _ := os.ReadFile(schemaFile)
	var raw map[string]any
	json.Unmarshal(b, &raw)
	example, _ := json.Marshal(raw["examples"].([]any)[0])
	art, _ := os.ReadFile("testdata/art.json")
	cases := map[string]bool{
		string(example): true,
		string(art):     true,
		`{"mlthreat_evidence": 1, "tool": "art", "date": "2026-01-01", "results": [{"attack": "a", "technique": "AML.T0043", "target": "m", "attempts": 3, "successes": 1, "success_rate": 0.333}]}`: true,
		`{"mlthreat_evidence": 1, "tool": "art", "date": "2026-01-01", "results": [{"attack": "a", "technique": "AML.T0043", "attempts": 0, "successes": 0}]}`:                                       false,
		`{"mlthreat_evidence": 1, "tool": "art", "date": "2026-01-01", "results": [{"attack": "a", "technique": "AML.T0043", "attempts": 3}]}`:                                                       false,
		`{"mlthreat_evidence": 1, "tool": "art", "date": "2026-01-01", "results": [{"attack": "a", "attempts": 3, "successes": 1}]}`:                                                                 false,
		`{"mlthreat_evidence": 1, "tool": "art", "date": "2026-01-01", "results": [{"attack": "a", "technique": "AML.T0043", "attempts": 3, "success_rate": 1.5}]}`:                                  false,
		`{"mlthreat_evidence": 1, "tool": "art", "date": "2026-01-01", "results": [{"attack": "a", "technique": "AML.T0043", "attempts": 3, "successes": 1, "colour": 1}]}`:                          false,
		`{"mlthreat_evidence": 2, "results": []}`:                false,
		`{"mlthreat_evidence": 1, "results": [], "findings": 1}`: false,
	}
	for in, valid := range cases {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(in)))
		if err != nil {
			t.Fatal(err)
		}
		schemaOK := sch.Validate(doc) == nil
		f, err := generic.Read(bytes.NewReader([]byte(in)), "x.json")
		readerOK := err == nil && len(f.Problems) == 0
		if schemaOK != valid || readerOK != valid {
			t.Errorf("%s: schema says %v, reader says %v (%v %v), want %v", in, schemaOK, readerOK, err, f, valid)
		}
	}
}

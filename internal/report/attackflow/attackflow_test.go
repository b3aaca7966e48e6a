package attackflow_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/attackflow"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/synth"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// compiler registers the STIX 2.1 schemas under both URL prefixes the Attack
// Flow schema uses, and the Attack Flow schema itself.
func compiler(t *testing.T, data string) *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	root := filepath.Join(data, "stix", "schemas")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		for _, prefix := range []string{
			"http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/",
			"https://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/master/schemas/",
		} {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			doc, err := jsonschema.UnmarshalJSON(f)
			f.Close()
			if err != nil {
				return err
			}
			if m, ok := doc.(map[string]any); ok {
				m["$id"] = prefix + rel // each copy under its own URL
			}
			if err := c.AddResource(prefix+rel, doc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(data, "attack-flow", "attack-flow-schema-2.0.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("https://center-for-threat-informed-defense.github.io/attack-flow/schema/attack-flow-schema-2.0.0.json", doc); err != nil {
		t.Fatal(err)
	}
	return c
}

// Every object validates on its own (as the Attack Flow tools check them):
// Attack Flow objects against the extension schema, the identity against
// STIX's identity schema.
func TestObjectsValidate(t *testing.T) {
	data := sharedtest.DataDir(t)
	c := compiler(t, data)
	af, err := c.Compile("https://center-for-threat-informed-defense.github.io/attack-flow/schema/attack-flow-schema-2.0.0.json")
	if err != nil {
		t.Fatal(err)
	}
	identity, err := c.Compile("http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/identity.json")
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	set, _ := rules.Load(cat)
	s, ds := validate.File(filepath.Join(sharedtest.RepoRoot(t), "examples", "llm-rag-assistant", "system.yaml"), cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	// A larger synthetic system has paths that join at one impact (operators).
	big, ds := model.Load("synthetic.yaml", synth.Model(300), model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	var raws []json.RawMessage
	for _, sys := range []*model.System{s, big} {
		r, err := analysis.Analyze(sys, cat, set, analysis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := attackflow.Writer{Timestamp: "2026-11-27T00:00:00.000Z"}
		var buf bytes.Buffer
		if err := w.Write(&buf, r); err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Objects []json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal(buf.Bytes(), &bundle); err != nil {
			t.Fatal(err)
		}
		raws = append(raws, bundle.Objects...)
	}
	flows, operators := 0, 0
	for _, raw := range raws {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		typ := inst.(map[string]any)["type"].(string)
		sch := af
		if typ == "identity" {
			sch = identity
		}
		if typ == "attack-flow" {
			flows++
		}
		if typ == "attack-operator" {
			operators++
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s does not validate: %v", typ, err)
		}
		if typ == "attack-action" {
			m := inst.(map[string]any)
			if !strings.HasPrefix(m["technique_ref"].(string), "attack-pattern--") || !strings.HasPrefix(m["tactic_id"].(string), "AML.TA") {
				t.Errorf("action refs: %v", m)
			}
		}
	}
	if flows == 0 || operators == 0 {
		t.Errorf("want attack flows and operators where paths join, got %d flows and %d operators", flows, operators)
	}
	if got := attackflow.ATLASRef("attack-pattern", "AML.T0000"); got != "attack-pattern--"+atlasStixID(t, data, "AML.T0000") {
		t.Errorf("ATLAS STIX id mismatch: %s", got)
	}
}

// atlasStixID finds an ATLAS object's STIX id in the official bundle.
func atlasStixID(t *testing.T, data, atlasID string) string {
	b, err := os.ReadFile(filepath.Join(data, "atlas", "navigator-data", "stix-atlas.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Objects []struct {
			ID   string `json:"id"`
			Refs []struct {
				ExternalID string `json:"external_id"`
			} `json:"external_references"`
		} `json:"objects"`
	}
	json.Unmarshal(b, &bundle)
	for _, o := range bundle.Objects {
		for _, r := range o.Refs {
			if r.ExternalID == atlasID {
				return strings.SplitN(o.ID, "--", 2)[1]
			}
		}
	}
	t.Fatalf("%s not in the ATLAS STIX bundle", atlasID)
	return ""
}

package otm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/interop"
	"github.com/mlthreat/mlthreat/internal/interop/interoptest"
	"github.com/mlthreat/mlthreat/internal/interop/otm"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

func hasCode(ds diag.List, code string) bool {
	for _, d := range ds {
		if d.Code == code {
			return true
		}
	}
	return false
}

// Every example exports to an OTM document that matches the golden file
// and validates against the OTM schema; importing it gives back the same
// zones, components, flows and data, and the same analysis.
func TestExportExamples(t *testing.T) {
	dir := sharedtest.DataDir(t)
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join(dir, "otm", "otm_schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range interoptest.Examples(t) {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			r := interoptest.Analyze(t, path)
			var b bytes.Buffer
			if err := (otm.Writer{}).Write(&b, r); err != nil {
				t.Fatal(err)
			}
			interoptest.Golden(t, filepath.Join(filepath.Dir(path), "threat-model.otm.json"), b.Bytes())
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(doc); err != nil {
				t.Fatalf("OTM export does not match the schema: %v", err)
			}
			m, ds := otm.Import(name+".otm.json", b.Bytes(), interop.DefaultLimits)
			if m == nil {
				t.Fatal(ds)
			}
			back, _ := interoptest.Valid(t, m)
			want, got := interoptest.Shape(r.System), interoptest.Shape(back)
			for k, v := range want {
				if got[k] != v {
					t.Errorf("round trip: %s is %q, want %q", k, got[k], v)
				}
			}
			if len(got) != len(want) {
				t.Errorf("round trip: %d elements, want %d", len(got), len(want))
			}
			if len(back.Controls) != len(r.System.Controls) || len(back.RiskTracking) != len(r.System.RiskTracking) {
				t.Errorf("round trip: %d controls, %d decisions; want %d, %d", len(back.Controls), len(back.RiskTracking), len(r.System.Controls), len(r.System.RiskTracking))
			}
		})
	}
}

// IriusRisk's example imports into a valid model, pinned by a golden file.
func TestImportExample(t *testing.T) {
	p := filepath.Join(sharedtest.DataDir(t), "otm", "EXAMPLE.json")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m, ds := otm.Import("EXAMPLE.json", src, interop.DefaultLimits)
	if m == nil {
		t.Fatal(ds)
	}
	s, y := interoptest.Valid(t, m)
	interoptest.Golden(t, filepath.Join("testdata", "EXAMPLE.mlthreat.yaml"), y)
	var w bytes.Buffer
	for _, d := range ds {
		fmt.Fprintln(&w, d)
	}
	interoptest.Golden(t, filepath.Join("testdata", "EXAMPLE.warnings.txt"), w.Bytes())
	if c := s.Component("web-client"); c == nil || c.Kind != "actor" || c.Zone != "internet" {
		t.Errorf("web-client: %+v", c)
	}
	if d := s.DataItem("cc-data"); d == nil || d.Classification != "restricted" {
		t.Errorf("cc-data: %+v", d)
	}
	if len(s.Threats) != 1 || len(s.Threats[0].Targets) != 2 {
		t.Errorf("threats: %+v", s.Threats)
	}
}

func TestHostile(t *testing.T) {
	cases := []struct {
		name, src, code string
		fatal           bool
	}{
		{"dangling dataflow", `{"otmVersion":"0.2.0","project":{"name":"P","id":"p"},"trustZones":[{"id":"z","name":"Z","risk":{"trustRating":50}}],
"components":[{"id":"a","name":"A","type":"web-service","parent":{"trustZone":"z"}}],
"dataflows":[{"id":"f","name":"F","source":"a","destination":"ghost"},{"id":"g","name":"G","source":"a","destination":"z"}]}`, "import-dangling", false},
		{"parent cycle", `{"otmVersion":"0.2.0","project":{"name":"P","id":"p"},
"components":[{"id":"a","name":"A","type":"x","parent":{"component":"b"}},{"id":"b","name":"B","type":"x","parent":{"component":"a"}}]}`, "import-cycle", false},
		{"html names", `{"otmVersion":"0.2.0","project":{"name":"<script>alert(1)</script>","id":"<b>"},
"components":[{"id":"<img src=x>","name":"<img src=x onerror=alert(1)>","type":"llm","parent":{"trustZone":"nowhere"}}]}`, "import-dangling", false},
		{"not otm", `{"a":1}`, "not-otm", true},
		{"syntax", `{"otmVersion": "0.2.0", "project": {`, "syntax", true},
		{"deep", strings.Repeat("[", 500) + strings.Repeat("]", 500), "too-deep", true},
		{"duplicate key", `{"otmVersion":"0.2.0","otmVersion":"0.1"}`, "duplicate-key", true},
		{"bad section", `{"otmVersion":"0.2.0","project":{"name":"P","id":"p"},"components":{}}`, "bad-section", true},
		{"trailing", `{"otmVersion":"0.2.0","project":{"name":"P","id":"p"}} {}`, "syntax", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, ds := otm.Import("h.json", []byte(c.src), interop.DefaultLimits)
			if c.fatal != (m == nil) {
				t.Fatalf("fatal=%v: %v", c.fatal, ds)
			}
			if !hasCode(ds, c.code) {
				t.Errorf("want %s, got %v", c.code, ds)
			}
			if m != nil {
				interoptest.Valid(t, m)
			}
		})
	}
}

// Too many components is a count error, found before the model is built.
func TestTooManyComponents(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"otmVersion":"0.2.0","project":{"name":"P","id":"p"},"components":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"c%d","name":"C","type":"x","parent":{"trustZone":"z"}}`, i)
	}
	b.WriteString("]}")
	lim := interop.DefaultLimits
	lim.MaxElements = 500
	if m, ds := otm.Import("many.json", []byte(b.String()), lim); m != nil || !hasCode(ds, "too-many") {
		t.Fatalf("want too-many, got %v", ds)
	}
}

func FuzzOTM(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "data", "otm", "EXAMPLE.json")); err == nil {
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "sentiment-api", "threat-model.otm.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"otmVersion":"0.2.0","project":{"name":"P","id":"p"},"components":[{"id":"a","parent":{"component":"a"}}]}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		lim := interop.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxNodes: 100_000, MaxElements: 1000}
		m, ds := otm.Import("fuzz.json", src, lim)
		if m == nil {
			if ds.Errors() == 0 {
				t.Fatal("no model and no error")
			}
			return
		}
		interoptest.Valid(t, m)
		if _, err := json.Marshal(ds); err != nil {
			t.Fatal(err)
		}
	})
}

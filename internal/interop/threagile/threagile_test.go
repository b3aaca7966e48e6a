package threagile_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/interop"
	"github.com/mlthreat/mlthreat/internal/interop/interoptest"
	"github.com/mlthreat/mlthreat/internal/interop/threagile"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/synth"
)

// raceEnabled is set under the race detector, which makes the
// million-asset test take minutes.
var raceEnabled bool

func sample(t testing.TB, name string) (string, []byte) {
	t.Helper()
	p := filepath.Join(sharedtest.DataDir(t), "samples", "threagile", name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

func hasCode(ds diag.List, code string) bool {
	for _, d := range ds {
		if d.Code == code {
			return true
		}
	}
	return false
}

// Threagile's own example and stub import into valid models, with the
// kinds the mapping table promises and the import's output pinned by a
// golden file.
func TestImportSamples(t *testing.T) {
	for _, name := range []string{"threagile-example-model.yaml", "threagile-stub-model.yaml"} {
		t.Run(name, func(t *testing.T) {
			p, src := sample(t, name)
			m, ds := threagile.Import(name, src, interop.DefaultLimits)
			if m == nil {
				t.Fatal(ds)
			}
			if ds.Errors() > 0 {
				t.Fatal(ds)
			}
			_, y := interoptest.Valid(t, m)
			interoptest.Golden(t, filepath.Join("testdata", strings.TrimSuffix(name, ".yaml")+".mlthreat.yaml"), y)
			var w bytes.Buffer
			for _, d := range ds {
				fmt.Fprintln(&w, d)
			}
			interoptest.Golden(t, filepath.Join("testdata", strings.TrimSuffix(name, ".yaml")+".warnings.txt"), w.Bytes())
			_ = p
		})
	}
	_, src := sample(t, "threagile-example-model.yaml")
	m, _ := threagile.Import("x.yaml", src, interop.DefaultLimits)
	s, _ := interoptest.Valid(t, m)
	want := map[string]string{
		"customer-client": "actor", "jenkins-build-server": "ci-cd", "sql-database": "datastore",
		"ldap-auth-server": "datastore", "apache-webserver": "application", "load-balancer": "application",
	}
	for id, kind := range want {
		if c := s.Component(id); c == nil || c.Kind != kind {
			t.Errorf("%s: got %+v, want kind %s", id, c, kind)
		}
	}
	if c := s.Component("customer-client"); c.Exposure != "internet" || c.Zone != "internet" {
		t.Errorf("customer-client: exposure %q zone %q", c.Exposure, c.Zone)
	}
	if c := s.Component("apache-webserver"); c.Zone != "web-dmz" {
		t.Errorf("apache-webserver in zone %q, want web-dmz", c.Zone)
	}
	if d := s.DataItem("customer-accounts"); d.Classification != "restricted" {
		t.Errorf("strictly-confidential should be restricted, got %q", d.Classification)
	}
	if d := s.DataItem("contract-summaries"); d.Classification != "confidential" {
		t.Errorf("Threagile's restricted should be confidential, got %q", d.Classification)
	}
	if len(s.Threats) != 2 || s.Threats[0].Targets[0] != "sql-database" {
		t.Errorf("individual risks: %+v", s.Threats)
	}
}

// ai technologies become a model, an inference API (called from outside)
// or an LLM (by name); the guesses are reported.
func TestAIKinds(t *testing.T) {
	src := `threagile_version: 1.0.0
title: AI app
technical_assets:
  Shopper:
    id: shopper
    type: external-entity
    used_as_client_by_human: true
    technology: browser
    internet: true
    communication_links:
      Ask:
        target: scoring-api
        protocol: https
        authentication: none
  Scoring API:
    id: scoring-api
    type: process
    technology: ai
    communication_links:
      Load:
        target: weights
        protocol: local-file-access
  Weights:
    id: weights
    type: process
    technology: ai
  Chat Assistant:
    id: assistant
    type: process
    technology: ai
    description: GPT-based helper
  Pipeline:
    id: ci
    type: process
    technology: build-pipeline
`
	m, ds := threagile.Import("ai.yaml", []byte(src), interop.DefaultLimits)
	if m == nil {
		t.Fatal(ds)
	}
	s, _ := interoptest.Valid(t, m)
	for id, kind := range map[string]string{"scoring-api": "inference-api", "weights": "model", "assistant": "llm", "ci": "ci-cd", "shopper": "actor"} {
		if c := s.Component(id); c == nil || c.Kind != kind {
			t.Errorf("%s: want %s, got %+v", id, kind, c)
		}
	}
	if !hasCode(ds, "import-guess") {
		t.Errorf("guessed kinds should be reported: %v", ds)
	}
	if strings.Join(s.Info.Platforms, ",") != "predictive,generative" {
		t.Errorf("platforms %v", s.Info.Platforms)
	}
}

// Hostile or inconsistent files give warnings or clear errors, never a
// panic or an invalid model.
func TestHostile(t *testing.T) {
	cases := []struct {
		name, src string
		code      string // expected diagnostic code
		fatal     bool
	}{
		{"unknown link target", `threagile_version: 1.0.0
title: T
technical_assets:
  A: {id: a, type: process, technology: web-server, communication_links: {L: {target: nowhere, protocol: https}}}
`, "import-dangling", false},
		{"self link", `threagile_version: 1.0.0
title: T
technical_assets:
  A: {id: a, type: process, technology: web-server, communication_links: {L: {target: a}}}
`, "import-self-link", false},
		{"boundary cycle", `threagile_version: 1.0.0
title: T
technical_assets:
  A: {id: a, technology: database, communication_links: {L: {target: b}}}
  B: {id: b, technology: web-server, communication_links: {L: {target: a}}}
trust_boundaries:
  X: {id: x, technical_assets_inside: [a], trust_boundaries_nested: [y]}
  Y: {id: y, technical_assets_inside: [b], trust_boundaries_nested: [x]}
`, "import-guess", false},
		{"unknown data asset", `threagile_version: 1.0.0
title: T
technical_assets:
  A: {id: a, communication_links: {L: {target: b, data_assets_sent: [ghost]}}}
  B: {id: b}
`, "import-dangling", false},
		{"html in names", `threagile_version: 1.0.0
title: "<script>alert(1)</script>"
technical_assets:
  "<img src=x onerror=alert(1)>": {id: "<b>x</b>", description: "<script>"}
`, "", false},
		{"not threagile", "foo: bar\n", "not-threagile", true},
		{"syntax", "title: [\n", "syntax", true},
		{"alias bomb", "threagile_version: 1.0.0\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n", "too-many-nodes", true},
		{"deep", "threagile_version: 1.0.0\nx: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n", "too-deep", true},
		{"section not a map", "threagile_version: 1.0.0\ntechnical_assets: [a, b]\n", "bad-section", true},
		{"duplicate key", "threagile_version: 1.0.0\ntitle: a\ntitle: b\n", "duplicate-key", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, ds := threagile.Import("h.yaml", []byte(c.src), interop.DefaultLimits)
			if c.fatal != (m == nil) {
				t.Fatalf("fatal=%v, got model %v: %v", c.fatal, m != nil, ds)
			}
			if c.code != "" && !hasCode(ds, c.code) {
				t.Errorf("want a %s diagnostic, got %v", c.code, ds)
			}
			if m != nil {
				interoptest.Valid(t, m)
			}
			for _, d := range ds {
				if d.Severity == diag.Error && d.Line == 0 && d.Code != "too-large" {
					t.Errorf("error without a position: %v", d)
				}
			}
		})
	}
}

// A million technical assets are refused by count, quickly, before any
// model is built.
func TestMillionAssets(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("builds and parses a 25 MB file")
	}
	var b bytes.Buffer
	b.WriteString("threagile_version: 1.0.0\ntitle: Huge\ntechnical_assets:\n")
	for i := range 1_000_000 {
		fmt.Fprintf(&b, "  a%d: {id: a%d}\n", i, i)
	}
	start := time.Now()
	m, ds := threagile.Import("huge.yaml", b.Bytes(), interop.DefaultLimits)
	if m != nil || !hasCode(ds, "too-many") && !hasCode(ds, "too-many-nodes") && !hasCode(ds, "too-large") {
		t.Fatalf("want a count or size error, got %v", ds)
	}
	t.Logf("%d bytes refused in %v: %v", b.Len(), time.Since(start), ds[0])
}

// The writer's Threagile model imports back to the same components,
// kinds, zones, flows and data.
func TestWriteRoundTrip(t *testing.T) {
	for _, src := range [][]byte{synth.Model(60), mustScale(t)} {
		s, ds := model.Load("gen.yaml", src, model.Limits{MaxBytes: 64 << 20, MaxDepth: 64, MaxNodes: 1 << 22})
		if s == nil || ds.Errors() > 0 {
			t.Fatal(ds)
		}
		var b bytes.Buffer
		if err := threagile.Write(&b, s); err != nil {
			t.Fatal(err)
		}
		m, ds := threagile.Import("written.yaml", b.Bytes(), interop.DefaultLimits)
		if m == nil {
			t.Fatal(ds)
		}
		back, _ := interoptest.Valid(t, m)
		if len(back.Components) != len(s.Components) || len(back.Flows) != len(s.Flows) || len(back.Data) != len(s.Data) {
			t.Fatalf("%d/%d/%d components/flows/data, want %d/%d/%d", len(back.Components), len(back.Flows), len(back.Data), len(s.Components), len(s.Flows), len(s.Data))
		}
		for _, c := range s.Components {
			bc := back.Component(c.ID)
			if bc == nil || bc.Kind != c.Kind {
				t.Errorf("component %s: got %+v, want kind %s", c.ID, bc, c.Kind)
			}
		}
	}
}

func mustScale(t testing.TB) []byte {
	b, err := synth.Scale(1)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzThreagile(f *testing.F) {
	for _, name := range []string{"threagile-example-model.yaml", "threagile-stub-model.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "data", "samples", "threagile", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("threagile_version: 1.0.0\ntechnical_assets:\n  A: {id: a, technology: ai, communication_links: {L: {target: a}}}\n"))
	f.Add([]byte("threagile_version: 1.0.0\ntrust_boundaries: {X: {id: x, trust_boundaries_nested: [x]}}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		lim := interop.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxNodes: 100_000, MaxElements: 1000}
		m, ds := threagile.Import("fuzz.yaml", src, lim)
		if m == nil {
			if ds.Errors() == 0 {
				t.Fatal("no model and no error")
			}
			return
		}
		interoptest.Valid(t, m)
	})
}

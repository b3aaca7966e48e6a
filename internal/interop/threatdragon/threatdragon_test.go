package threatdragon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/interop"
	"github.com/mlthreat/mlthreat/internal/interop/interoptest"
	"github.com/mlthreat/mlthreat/internal/interop/threatdragon"
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

// The shape of a Threat Dragon 2 model, as Threat Dragon reads it.
type tdModel struct {
	Version string `json:"version"`
	Summary struct {
		Title string `json:"title"`
	} `json:"summary"`
	Detail struct {
		Diagrams []struct {
			DiagramType string `json:"diagramType"`
			Version     string `json:"version"`
			Cells       []struct {
				ID     string `json:"id"`
				Shape  string `json:"shape"`
				Source *struct {
					Cell string `json:"cell"`
				} `json:"source"`
				Target *struct {
					Cell string `json:"cell"`
				} `json:"target"`
				Data struct {
					Type    string `json:"type"`
					Name    string `json:"name"`
					Threats []struct {
						ID, Title, Status, Severity, Type string
					} `json:"threats"`
				} `json:"data"`
			} `json:"cells"`
		} `json:"diagrams"`
	} `json:"detail"`
}

var shapes = map[string]string{"actor": "tm.Actor", "process": "tm.Process", "store": "tm.Store", "flow": "tm.Flow", "trust-boundary-box": "tm.BoundaryBox"}

// Every example exports to a Threat Dragon 2 model (golden file) whose
// cells are well formed and whose flows join drawn elements; importing it
// gives back the same zones, components, flows and data.
func TestExportExamples(t *testing.T) {
	for _, path := range interoptest.Examples(t) {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			r := interoptest.Analyze(t, path)
			var b bytes.Buffer
			if err := (threatdragon.Writer{}).Write(&b, r); err != nil {
				t.Fatal(err)
			}
			interoptest.Golden(t, filepath.Join(filepath.Dir(path), "threat-dragon.json"), b.Bytes())
			var td tdModel
			if err := json.Unmarshal(b.Bytes(), &td); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(td.Version, "2.") || len(td.Detail.Diagrams) != 1 || td.Detail.Diagrams[0].DiagramType != "STRIDE" {
				t.Fatalf("header: %+v", td)
			}
			ids := map[string]bool{}
			threats := 0
			for _, c := range td.Detail.Diagrams[0].Cells {
				if c.ID == "" || ids[c.ID] || shapes[c.Shape] != c.Data.Type {
					t.Errorf("cell %q: shape %q, type %q", c.ID, c.Shape, c.Data.Type)
				}
				ids[c.ID] = true
				threats += len(c.Data.Threats)
				for _, th := range c.Data.Threats {
					if th.Status != "Open" && th.Status != "Mitigated" && th.Status != "NotApplicable" {
						t.Errorf("threat %s: status %q", th.ID, th.Status)
					}
				}
			}
			for _, c := range td.Detail.Diagrams[0].Cells {
				if c.Shape == "flow" && (c.Source == nil || c.Target == nil || !ids[c.Source.Cell] || !ids[c.Target.Cell]) {
					t.Errorf("flow %s does not join two cells", c.ID)
				}
			}
			recorded := 0
			for _, th := range r.System.Threats {
				recorded += len(th.Targets)
			}
			if threats != len(r.Threats)+recorded {
				t.Errorf("%d threats drawn, want %d", threats, len(r.Threats))
			}
			m, ds := threatdragon.Import(name+".json", b.Bytes(), interop.DefaultLimits)
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
			if len(got) != len(want) || len(back.Controls) != len(r.System.Controls) {
				t.Errorf("round trip: %d elements and %d controls, want %d and %d", len(got), len(back.Controls), len(want), len(r.System.Controls))
			}
		})
	}
}

// A threat marked mitigated in Threat Dragon comes back as a decision on
// the derived threat's id.
func TestStatusBecomesDecision(t *testing.T) {
	r := interoptest.Analyze(t, interoptest.Examples(t)[0])
	var b bytes.Buffer
	if err := (threatdragon.Writer{}).Write(&b, r); err != nil {
		t.Fatal(err)
	}
	var open string
	for _, th := range r.Threats {
		if th.Status == "open" {
			open = th.ID
			break
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc["detail"].(map[string]any)["diagrams"].([]any)[0].(map[string]any)["cells"].([]any) {
		data, _ := c.(map[string]any)["data"].(map[string]any)
		ths, _ := data["threats"].([]any)
		for _, th := range ths {
			if th := th.(map[string]any); th["id"] == open {
				th["status"] = "Mitigated"
				th["mitigation"] = "Fixed in release 2"
			}
		}
	}
	edited, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	m, ds := threatdragon.Import("edited.json", edited, interop.DefaultLimits)
	if m == nil {
		t.Fatal(ds)
	}
	s, _ := interoptest.Valid(t, m)
	found := false
	for _, d := range s.RiskTracking {
		if d.Threat == open && d.Status == "mitigated" {
			found = true
		}
	}
	if !found {
		t.Errorf("no mitigated decision on %s: %+v", open, s.RiskTracking)
	}
}

// OWASP's demo model (a version 1 file) imports into a valid model, pinned
// by a golden file; its threats become recorded threats.
func TestImportDemo(t *testing.T) {
	p := filepath.Join(sharedtest.DataDir(t), "samples", "threat-dragon", "demo-threat-model.json")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m, ds := threatdragon.Import("demo-threat-model.json", src, interop.DefaultLimits)
	if m == nil {
		t.Fatal(ds)
	}
	s, y := interoptest.Valid(t, m)
	interoptest.Golden(t, filepath.Join("testdata", "demo-threat-model.mlthreat.yaml"), y)
	var w bytes.Buffer
	for _, d := range ds {
		fmt.Fprintln(&w, d)
	}
	interoptest.Golden(t, filepath.Join("testdata", "demo-threat-model.warnings.txt"), w.Bytes())
	if c := s.Component("browser"); c == nil || c.Kind != "actor" {
		t.Errorf("browser: %+v", c)
	}
	if c := s.Component("web-application"); c == nil || c.Exposure != "internet" {
		t.Errorf("web-application: %+v", c)
	}
	if len(s.Flows) != 10 || len(s.Threats) != 14 {
		t.Errorf("%d flows, %d threats", len(s.Flows), len(s.Threats))
	}
	// The TM-BOM file beside it is another format: a clear error.
	tm, err := os.ReadFile(filepath.Join(filepath.Dir(p), "huskyai.tmbom.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m, ds := threatdragon.Import("huskyai.tmbom.json", tm, interop.DefaultLimits); m != nil || !strings.Contains(ds[0].Message, "TM-BOM") {
		t.Errorf("TM-BOM: %v", ds)
	}
}

func TestHostile(t *testing.T) {
	cases := []struct {
		name, src, code string
		fatal           bool
	}{
		{"dangling flow", `{"summary":{"title":"T"},"detail":{"diagrams":[{"cells":[
{"id":"a","shape":"process","data":{"type":"tm.Process","name":"A"}},
{"id":"f","shape":"flow","source":{"cell":"a"},"target":{"cell":"ghost"},"data":{"type":"tm.Flow","name":"F"}},
{"id":"g","shape":"flow","source":{"cell":"a"},"target":{"cell":"a"},"data":{"type":"tm.Flow","name":"G"}}]}]}}`, "import-dangling", false},
		{"html names", `{"summary":{"title":"<script>alert(1)</script>"},"detail":{"diagrams":[{"cells":[
{"id":"a","shape":"actor","data":{"type":"tm.Actor","name":"<img src=x onerror=alert(1)>","threats":[{"title":"<b>x</b>","status":"Open"}]}}]}]}}`, "", false},
		{"unknown cell", `{"summary":{"title":"T"},"detail":{"diagrams":[{"cells":[{"id":"a","shape":"mystery"}]}]}}`, "import-skipped", false},
		{"not threat dragon", `[1, 2]`, "not-threat-dragon", true},
		{"deep", `{"summary":{"title":"T"},"detail":` + strings.Repeat(`{"a":`, 300) + "1" + strings.Repeat("}", 300) + "}", "too-deep", true},
		{"syntax", `{"summary": }`, "syntax", true},
		{"nul byte", "{\"summary\":\x00}", "binary", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, ds := threatdragon.Import("h.json", []byte(c.src), interop.DefaultLimits)
			if c.fatal != (m == nil) {
				t.Fatalf("fatal=%v: %v", c.fatal, ds)
			}
			if c.code != "" && !hasCode(ds, c.code) {
				t.Errorf("want %s, got %v", c.code, ds)
			}
			if m != nil {
				interoptest.Valid(t, m)
			}
		})
	}
}

func FuzzThreatDragon(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "data", "samples", "threat-dragon", "demo-threat-model.json")); err == nil {
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "sentiment-api", "threat-dragon.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"summary":{"title":"T"},"detail":{"diagrams":[{"cells":[{"id":"b","shape":"trust-boundary-box","position":{"x":0,"y":0},"size":{"width":1e308,"height":-1},"data":{"type":"tm.BoundaryBox","name":"internet"}}]}]}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		lim := interop.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxNodes: 100_000, MaxElements: 1000}
		m, ds := threatdragon.Import("fuzz.json", src, lim)
		if m == nil {
			if ds.Errors() == 0 {
				t.Fatal("no model and no error")
			}
			return
		}
		interoptest.Valid(t, m)
	})
}

package diffreport_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diff"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/diffreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func analyze(t *testing.T, path, name string) *analysis.Report {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	s, ds := validate.File(path, cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	s.File = name
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The example before and after a change (testdata/sentiment-api-v2.yaml drops
// a control, adds a retraining job, implements a planned control and accepts
// a threat), in every format. Refresh with: go test ./internal/report/diffreport -update
func TestGolden(t *testing.T) {
	before := analyze(t, "../../../examples/sentiment-api/system.yaml", "examples/sentiment-api/system.yaml")
	after := analyze(t, "testdata/sentiment-api-v2.yaml", "testdata/sentiment-api-v2.yaml")
	r := diff.Compare(before, after)
	formats := map[string]func(*bytes.Buffer) error{
		"sentiment-api.diff.txt":  func(b *bytes.Buffer) error { return diffreport.Table(b, r) },
		"sentiment-api.diff.md":   func(b *bytes.Buffer) error { return diffreport.Markdown(b, r) },
		"sentiment-api.diff.json": func(b *bytes.Buffer) error { return diffreport.JSON(b, r, "golden") },
	}
	for file, render := range formats {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, filepath.Join("testdata", file), b.Bytes())
	}
}

func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report/diffreport -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs; if the change is intended, run go test ./internal/report/diffreport -update and review the diff", golden)
	}
}

func TestVerdict(t *testing.T) {
	before := analyze(t, "../../../examples/sentiment-api/system.yaml", "a.yaml")
	after := analyze(t, "testdata/sentiment-api-v2.yaml", "b.yaml")
	if got := diffreport.Verdict(diff.Compare(before, before)); got != "no changes to the threat model" {
		t.Errorf("same model: %q", got)
	}
	for _, c := range []struct {
		r    *diff.Result
		want string
	}{
		{diff.Compare(before, after), "8 threats added (4 critical, 4 high), 11 changed; 1 control removed, 1 changed; residual risk +135 (179 → 314)"},
		{diff.Compare(after, before), "8 threats removed, 11 changed; 1 control added, 1 changed; residual risk -135 (314 → 179)"},
	} {
		if got := diffreport.Verdict(c.r); got != c.want {
			t.Errorf("verdict\n got %q\nwant %q", got, c.want)
		}
	}
	// Only a control changed, with no effect on any threat.
	only := &diff.Result{Controls: diff.Controls{Added: []diff.Control{{ID: "c", Status: "planned"}}}}
	if got := diffreport.Verdict(only); got != "no threats added, removed or changed; 1 control added; residual risk unchanged" {
		t.Errorf("controls only: %q", got)
	}
}

// Names in a model are hostile: they must not inject Markdown, HTML,
// mentions or terminal escapes, and JSON must stay valid.
func TestHostileNames(t *testing.T) {
	base := `mlthreat: 1
system: {id: x, name: "<img src=x onerror=alert(1)> @octocat *bold*"}
components:
  - {id: api, kind: inference-api, exposure: internet}
`
	hostile := base + `controls:
  - id: c1
    name: "x\r| injected | row |\n<script>alert(1)</script> [link](http://evil) @org/team \u001b[31mred\u202e"
    mitigates: [AML.M0004]
`
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	os.WriteFile(a, []byte(base), 0o644)
	os.WriteFile(b, []byte(hostile), 0o644)
	r := diff.Compare(analyze(t, a, "a.yaml"), analyze(t, b, "b_<i>.yaml"))
	if len(r.Controls.Added) != 1 {
		t.Fatalf("want the control added: %+v", r.Controls)
	}
	var md bytes.Buffer
	if err := diffreport.Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, bad := range []string{"<img", "<script", "<i>", "[link](", "@octocat", "@org", " *bold*", "\r", "\x1b", "\u202e", "| injected |"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown carries raw %q:\n%s", bad, out)
		}
	}
	var txt bytes.Buffer
	if err := diffreport.Table(&txt, r); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\x1b", "\r", "\u202e"} {
		if strings.Contains(txt.String(), bad) {
			t.Errorf("table carries %q", bad)
		}
	}
	var js bytes.Buffer
	if err := diffreport.JSON(&js, r, "test"); err != nil {
		t.Fatal(err)
	}
	var doc diffreport.Document
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.Controls.Added[0].Name, "<script>") {
		t.Error("JSON keeps the name as data")
	}
}

// Long tables fold into <details>, and a huge diff stays a comment's size.
func TestMarkdownFolds(t *testing.T) {
	r := &diff.Result{Catalog: catalog.Default(), Risk: diff.Risk{OldBySeverity: map[string]int{}, NewBySeverity: map[string]int{}}}
	for i := range 5000 {
		r.Added = append(r.Added, diff.Threat{ID: fmt.Sprintf("T-%08x", i), Title: "t", Target: "api", Technique: "AML.T0043", State: diff.State{Score: 16, Severity: "high", Status: "open"}})
	}
	var b bytes.Buffer
	if err := diffreport.Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "<details><summary>4990 more</summary>") || !strings.Contains(out, "4790 more not shown") {
		t.Errorf("no folding:\n%s", out[:min(len(out), 2000)])
	}
	if len(out) > 65536 {
		t.Errorf("comment is %d characters", len(out))
	}
}

package boardreport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/board"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/quantify"
	"github.com/mlthreat/mlthreat/internal/report/quantreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func input(t *testing.T, file string) board.Input {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	sys, ds := validate.File(file, cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	q, err := quantify.Quantify(rep, quantify.Options{Iterations: 20_000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cw, err := gap.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := gap.BuiltinProfile(gap.DefaultProfile(sys), sys, cat)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := gap.Analyze(sys, cat, set, cw, prof, gap.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	return board.Input{Quant: q, Gap: gr}
}

// The quality-inspection example's board summary states the recall risk in
// money with P10, P50 and P90.
func TestQualityInspectionBoardSummary(t *testing.T) {
	s := board.Build([]board.Input{input(t, "../../../examples/quality-inspection/system.yaml")}, nil, today, quantreport.Money, 10)
	var md bytes.Buffer
	if err := Markdown(&md, s); err != nil {
		t.Fatal(err)
	}
	text := md.String()
	recall := ""
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "a product recall") {
			recall = line
			break
		}
	}
	if recall == "" || !strings.Contains(recall, "EUR") || !strings.Contains(recall, "(P10, P50, P90)") {
		t.Fatalf("no recall risk in money with its percentiles:\n%s", text)
	}
	if !strings.Contains(text, "over the appetite of EUR 2M") {
		t.Errorf("the appetite comparison is missing:\n%s", text)
	}
	golden(t, "quality-inspection.md", md.Bytes())
	for name, render := range map[string]func(*bytes.Buffer) error{
		"quality-inspection.html": func(b *bytes.Buffer) error { return HTML(b, s) },
		"quality-inspection.json": func(b *bytes.Buffer) error { return JSON(b, s) },
		"quality-inspection.pdf":  func(b *bytes.Buffer) error { return PDF(b, s) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, name, b.Bytes())
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report/boardreport -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs; if intended, run go test ./internal/report/boardreport -update and review", path)
	}
}

func TestTrendAndSnapshotRoundTrip(t *testing.T) {
	qi := input(t, "../../../examples/quality-inspection/system.yaml")
	first := board.Build([]board.Input{qi}, nil, today, quantreport.Money, 3)
	path := filepath.Join(t.TempDir(), "board.json")
	var b bytes.Buffer
	if err := JSON(&b, first); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	prev, err := ReadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	sa := input(t, "../../../examples/sentiment-api/system.yaml")
	next := board.Build([]board.Input{qi, sa}, prev, today.AddDate(0, 3, 0), quantreport.Money, 20)
	if next.Trend == nil || next.Trend.Since != "2026-11-27" || len(next.Trend.Systems) != 2 || !next.Trend.Systems[1].New || next.Trend.Systems[0].New {
		t.Fatalf("trend: %+v", next.Trend)
	}
	if !next.MixedCurrencies {
		t.Error("EUR and USD systems are mixed currencies")
	}
	newRisks := slices.IndexFunc(next.TopRisks, func(r board.Risk) bool { return r.System == "sentiment-api" && r.New })
	oldRisks := slices.IndexFunc(next.TopRisks, func(r board.Risk) bool {
		return r.System == "quality-inspection" && r.New && r.Threat == first.TopRisks[0].Threat
	})
	if newRisks < 0 || oldRisks >= 0 {
		t.Errorf("new-risk marks are wrong: %+v", next.TopRisks)
	}
	if _, err := ReadSnapshot("../../../examples/sentiment-api/system.yaml"); err == nil {
		t.Error("a model file read as a snapshot")
	}
}

func TestHostileNamesStayInert(t *testing.T) {
	in := input(t, "../../../examples/sentiment-api/system.yaml")
	in.Quant.Analysis.System.Info.Name = `<img src=x onerror=alert(1)> | **x**`
	s := board.Build([]board.Input{in}, nil, today, quantreport.Money, 3)
	var h, md bytes.Buffer
	if err := HTML(&h, s); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.String(), "<img") || strings.Contains(md.String(), "<img") {
		t.Error("markup from a model name reached the summary")
	}
}

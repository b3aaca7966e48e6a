package pdfreport_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/pdfreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

func TestExecutiveSummary(t *testing.T) {
	cat := catalog.Default()
	set, _ := rules.Load(cat)
	cw, _ := gap.Load(cat)
	s, ds := validate.File("../../../examples/llm-rag-assistant/system.yaml", cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	today := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	prof, _ := gap.BuiltinProfile(gap.DefaultProfile(s), s, cat)
	g, err := gap.Analyze(s, cat, set, cw, prof, gap.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := pdfreport.Write(&b, r, g); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		var again bytes.Buffer
		if err := pdfreport.Write(&again, r, g); err != nil || !bytes.Equal(again.Bytes(), b.Bytes()) {
			t.Fatal("the PDF is not byte-identical from run to run")
		}
	}
	pdf := b.Bytes()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("%%EOF")) {
		t.Fatal("not a PDF")
	}
	if n := bytes.Count(pdf, []byte("/Type /Page\n")); n < 1 || n > 3 {
		t.Errorf("%d pages, want 1 to 3", n)
	}
	top := r.Threats[0].Rule.Title
	for _, word := range strings.Fields(top) {
		if !bytes.Contains(pdf, []byte(word)) {
			t.Errorf("the top risk's title word %q is not in the PDF", word)
		}
	}
	// With poppler installed, read it back as a person would.
	if bin, err := exec.LookPath("pdftotext"); err == nil {
		p := filepath.Join(t.TempDir(), "r.pdf")
		os.WriteFile(p, pdf, 0o644)
		out, err := exec.Command(bin, "-layout", p, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(strings.Fields(string(out)), " "), strings.Join(strings.Fields(top), " ")) {
			t.Errorf("pdftotext does not find %q", top)
		}
	}
}

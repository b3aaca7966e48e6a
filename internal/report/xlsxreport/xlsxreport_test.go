package xlsxreport_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/csvreport"
	"github.com/mlthreat/mlthreat/internal/report/xlsxreport"
	"github.com/mlthreat/mlthreat/internal/rules"
)

func TestWorkbookRoundTrip(t *testing.T) {
	src := `mlthreat: 1
system: {id: x, name: X, owner: "=HYPERLINK(\"http://evil\")"}
components:
  - {id: api, kind: inference-api, exposure: internet, props: {auth: none, rate_limit: none, output: scores}}
  - {id: m, kind: model}
flows:
  - {id: f1, from: api, to: m}
`
	cat := catalog.Default()
	set, _ := rules.Load(cat)
	s, ds := model.Load("x.yaml", []byte(src), model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := (xlsxreport.Writer{}).Write(&b, r); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Risk register")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Threats)+1 || len(rows[0]) != len(csvreport.Columns) || rows[0][0] != "id" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	for i := 1; i < len(rows); i++ {
		formula, _ := f.GetCellFormula("Risk register", "N"+strconv.Itoa(i+1))
		if formula != "" {
			t.Errorf("row %d: owner became a formula %q", i, formula)
		}
	}
}

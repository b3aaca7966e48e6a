// Package xlsxreport writes the risk register as an Excel workbook: the same
// columns as the CSV register, with a header row, filters, frozen panes and
// severity colours.
package xlsxreport

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/report/csvreport"
)

// Writer writes the workbook.
type Writer struct{}

var fills = map[string]string{"critical": "F8D7DA", "high": "FDE2C8", "medium": "FFF3BF", "low": "E6F4EA"}

func (Writer) Write(w io.Writer, r *analysis.Report) error {
	// The CSV register is the single definition of the columns and cells.
	var buf bytes.Buffer
	if err := (csvreport.Writer{}).Write(&buf, r); err != nil {
		return err
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Risk register"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	header, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DEE2E6"}}})
	styles := map[string]int{}
	for _, sev := range []string{"critical", "high", "medium", "low"} { // fixed order: stable style ids
		styles[sev], _ = f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{fills[sev]}}})
	}
	numeric := map[int]bool{5: true, 6: true, 7: true, 11: true}
	for i, row := range rows {
		for j, cell := range row {
			ref, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return err
			}
			if i > 0 && numeric[j] {
				if n, err := strconv.Atoi(cell); err == nil {
					if err := f.SetCellInt(sheet, ref, int64(n)); err != nil {
						return err
					}
					continue
				}
			}
			// SetCellStr stores text as text: no formula is ever evaluated.
			if err := f.SetCellStr(sheet, ref, cell); err != nil {
				return err
			}
		}
		if i == 0 {
			continue
		}
		for _, col := range []int{9, 13} { // inherent and residual severity
			ref, _ := excelize.CoordinatesToCellName(col, i+1)
			if st, ok := styles[row[col-1]]; ok {
				_ = f.SetCellStyle(sheet, ref, ref, st)
			}
		}
	}
	last, _ := excelize.CoordinatesToCellName(len(csvreport.Columns), max(1, len(rows)))
	_ = f.SetCellStyle(sheet, "A1", fmt.Sprintf("%s1", string(last[0])), header)
	if len(rows) > 1 {
		if err := f.AutoFilter(sheet, "A1:"+last, nil); err != nil {
			return err
		}
	}
	_ = f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	_ = f.SetColWidth(sheet, "A", "A", 12)
	_ = f.SetColWidth(sheet, "B", "B", 50)
	_ = f.SetColWidth(sheet, "D", "D", 40)
	_ = f.SetDocProps(&excelize.DocProperties{Title: "Risk register: " + r.System.Info.Name, Creator: "mlthreat"})
	return f.Write(w)
}

// Package diag holds the diagnostics mlthreat reports about input files:
// a position, a severity and a message, printed as file:line:col.
package diag

import (
	"fmt"
	"sort"
)

// Severity of a diagnostic.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Diagnostic is one problem found in an input file.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`           // stable, e.g. unknown-key, dangling-ref
	Path     string   `json:"path,omitempty"` // where in the document, e.g. components[2].props.auth
	Message  string   `json:"message"`
	Suggest  []string `json:"suggestions,omitempty"`
}

func (d Diagnostic) String() string {
	loc := d.File
	if d.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Col)
	}
	return fmt.Sprintf("%s: %s: %s", loc, d.Severity, d.Message)
}

// List is an ordered set of diagnostics.
type List []Diagnostic

// Errors counts the error-severity diagnostics.
func (l List) Errors() int {
	n := 0
	for _, d := range l {
		if d.Severity == Error {
			n++
		}
	}
	return n
}

// Warnings counts the warnings.
func (l List) Warnings() int { return len(l) - l.Errors() }

// Sort orders by file, line, column, then message, for stable output.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Message < b.Message
	})
}

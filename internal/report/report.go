// Package report defines the Writer every output format implements. Each
// format lives in its own package and reads the same analysis.Report; none
// recomputes anything.
package report

import (
	"io"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// Writer renders a report in one format.
type Writer interface {
	Write(w io.Writer, r *analysis.Report) error
}

// WriterFunc adapts a function to Writer.
type WriterFunc func(w io.Writer, r *analysis.Report) error

func (f WriterFunc) Write(w io.Writer, r *analysis.Report) error { return f(w, r) }

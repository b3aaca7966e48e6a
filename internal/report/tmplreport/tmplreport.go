// Package tmplreport renders a user's Go text/template over the documented
// report value (the JSON document, see docs/cli.md), so teams can shape their
// own reports.
package tmplreport

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
)

// Funcs are the helpers templates may call.
var Funcs = template.FuncMap{
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"pad": func(n int, s string) string {
		if len(s) >= n {
			return s
		}
		return s + strings.Repeat(" ", n-len(s))
	},
}

// Writer renders one template.
type Writer struct {
	Template *template.Template
	Version  string
}

// Load parses a template file; errors name the file and line.
func Load(path string) (*template.Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := template.New(path).Funcs(Funcs).Option("missingkey=error").Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("%v", err)
	}
	return t, nil
}

func (w Writer) Write(out io.Writer, r *analysis.Report) error {
	return w.Template.Execute(out, jsonreport.Build(r, w.Version))
}

package gap

import (
	"errors"
	"fmt"
	"strings"
)

//go:generate go run ./gen

// Markers around the generated part of docs/governance.md.
const (
	DocsBegin = "<!-- BEGIN GENERATED PRACTICES: edit crosswalk/practices.yaml, then go generate ./internal/gap -->"
	DocsEnd   = "<!-- END GENERATED PRACTICES -->"
)

// ReplaceGeneratedDocs rewrites the practice reference in docs/governance.md.
func ReplaceGeneratedDocs(doc []byte, cw *Crosswalk) ([]byte, error) {
	s := string(doc)
	i := strings.Index(s, DocsBegin)
	j := strings.Index(s, DocsEnd)
	if i < 0 || j < i {
		return nil, errors.New("docs/governance.md lacks the generated-practices markers")
	}
	return []byte(s[:i+len(DocsBegin)] + "\n" + GeneratedDocs(cw) + s[j:]), nil
}

// GeneratedDocs is the reference of every practice and the subcategories it
// supports.
func GeneratedDocs(cw *Crosswalk) string {
	var b strings.Builder
	b.WriteString("\n| practice | name | effort | depends on | AI RMF subcategories |\n|---|---|---|---|---|\n")
	for _, p := range cw.Practices {
		var subs []string
		for _, l := range p.Links {
			s := l.RMF
			if l.Strength == "full" {
				s += " (full)"
			}
			subs = append(subs, s)
		}
		deps := "-"
		if len(p.DependsOn) > 0 {
			deps = "`" + strings.Join(p.DependsOn, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", p.ID, p.Name, p.Effort, deps, strings.Join(subs, ", "))
	}
	b.WriteString("\n")
	for _, p := range cw.Practices {
		fmt.Fprintf(&b, "### `%s`: %s\n\n%s\n\n", p.ID, p.Name, p.Summary)
		for _, l := range p.Links {
			fmt.Fprintf(&b, "- **%s** (%s): %s\n", l.RMF, l.Strength, l.Rationale)
		}
		b.WriteString("\n")
	}
	return b.String()
}

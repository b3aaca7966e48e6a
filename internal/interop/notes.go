package interop

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/diag"
)

// Notes collects an importer's warnings and errors. Fields that do not map
// are gathered per section and reported once each, with the first place
// they occur and how often, so a large file does not flood the terminal.
type Notes struct {
	File     string
	List     diag.List
	unmapped map[[2]string]*unmapped // by section and key
	capped   map[string]int
}

type unmapped struct {
	section, key string
	first        *Node
	count        int
}

// maxPerCode caps repeated warnings of one code; the rest are counted.
const maxPerCode = 20

func (n *Notes) add(sev diag.Severity, at *Node, code, format string, args ...any) {
	if sev == diag.Warning {
		if n.capped == nil {
			n.capped = map[string]int{}
		}
		n.capped[code]++
		if n.capped[code] > maxPerCode {
			return
		}
	}
	d := diag.Diagnostic{File: n.File, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)}
	if at != nil {
		d.Line, d.Col = at.Line, at.Col
	}
	n.List = append(n.List, d)
}

// Warn records a warning at a node (nil for none).
func (n *Notes) Warn(at *Node, code, format string, args ...any) {
	n.add(diag.Warning, at, code, format, args...)
}

// Error records an error: the file cannot give a valid model.
func (n *Notes) Error(at *Node, code, format string, args ...any) {
	n.add(diag.Error, at, code, format, args...)
}

// Unmapped notes a foreign field mlthreat does not model (it is carried as
// an x- field).
func (n *Notes) Unmapped(section, key string, at *Node) {
	if n.unmapped == nil {
		n.unmapped = map[[2]string]*unmapped{}
	}
	id := [2]string{section, key}
	u := n.unmapped[id]
	if u == nil {
		u = &unmapped{section: section, key: key, first: at}
		n.unmapped[id] = u
	}
	u.count++
}

// Done returns every diagnostic, the unmapped-field summary included, in
// file order.
func (n *Notes) Done(carriedAs string) diag.List {
	bySection := map[string][]*unmapped{}
	for _, u := range n.unmapped {
		bySection[u.section] = append(bySection[u.section], u)
	}
	sections := make([]string, 0, len(bySection))
	for s := range bySection {
		sections = append(sections, s)
	}
	sort.Strings(sections)
	for _, s := range sections {
		us := bySection[s]
		sort.Slice(us, func(i, j int) bool { return us[i].key < us[j].key })
		keys := make([]string, len(us))
		first := us[0].first
		for i, u := range us {
			keys[i] = u.key
			if u.first != nil && (first == nil || u.first.Line < first.Line) {
				first = u.first
			}
		}
		d := diag.Diagnostic{File: n.File, Severity: diag.Warning, Code: "import-unmapped",
			Message: fmt.Sprintf("%s: %s %s no mlthreat equivalent; kept as %s", s, strings.Join(keys, ", "), plural(len(keys), "has", "have"), carriedAs)}
		if first != nil {
			d.Line, d.Col = first.Line, first.Col
		}
		n.List = append(n.List, d)
	}
	for code, c := range n.capped {
		if c > maxPerCode {
			n.List = append(n.List, diag.Diagnostic{File: n.File, Severity: diag.Warning, Code: code,
				Message: fmt.Sprintf("%d more %s warnings not shown", c-maxPerCode, code)})
		}
	}
	n.List.Sort()
	return n.List
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// ynode wraps a YAML value read from metadata; aliases resolve on access and
// a nil ynode answers every question with nothing.
type ynode struct{ n *yaml.Node }

var reYAMLErr = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parseYAML decodes one YAML document whose first line is line+1 of the file.
func parseYAML(name string, b []byte, line int, lim Limits) (ynode, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return ynode{}, nil
		}
		l, msg := 0, err.Error()
		if m := reYAMLErr.FindStringSubmatch(msg); m != nil {
			l, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		col := 0
		if l > 0 {
			l, col = l+line, 1
		}
		return ynode{}, &Error{File: name, Line: l, Col: col, Msg: "YAML syntax error: " + msg}
	}
	if n := depthOver(&doc, lim.MaxDepth); n != nil {
		return ynode{}, &Error{File: name, Line: n.Line + line, Col: n.Column, Msg: fmt.Sprintf("YAML nested deeper than %d levels", lim.MaxDepth)}
	}
	if len(doc.Content) == 0 {
		return ynode{}, nil
	}
	return ynode{doc.Content[0]}, nil
}

// depthOver finds a node nested deeper than max, without following aliases.
func depthOver(root *yaml.Node, max int) *yaml.Node {
	type item struct {
		n *yaml.Node
		d int
	}
	stack := []item{{root, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.d > max {
			return it.n
		}
		for _, c := range it.n.Content {
			stack = append(stack, item{c, it.d + 1})
		}
	}
	return nil
}

func (y ynode) node() *yaml.Node {
	n := y.n
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// get returns a map value.
func (y ynode) get(key string) ynode {
	n := y.node()
	if n == nil || n.Kind != yaml.MappingNode {
		return ynode{}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := (ynode{n.Content[i]}).node(); k != nil && k.Value == key {
			return ynode{n.Content[i+1]}
		}
	}
	return ynode{}
}

func (y ynode) isMap() bool { n := y.node(); return n != nil && n.Kind == yaml.MappingNode }
func (y ynode) isSeq() bool { n := y.node(); return n != nil && n.Kind == yaml.SequenceNode }

// str returns a scalar's text ("" for null or anything else).
func (y ynode) str() string {
	n := y.node()
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

// items returns a list's entries, at most max; a scalar is a one-item list.
func (y ynode) items(max int) []ynode {
	n := y.node()
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if y.str() == "" {
			return nil
		}
		return []ynode{y}
	}
	if n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]ynode, 0, min(len(n.Content), max))
	for i, c := range n.Content {
		if i >= max {
			break
		}
		out = append(out, ynode{c})
	}
	return out
}

// strs returns the scalar entries of a list (or a lone scalar).
func (y ynode) strs(max int) []string {
	var out []string
	for _, it := range y.items(max) {
		if s := it.str(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// keys returns a map's keys in order.
func (y ynode) keys() []string {
	n := y.node()
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := (ynode{n.Content[i]}).str(); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// Package interop holds what the importers and exporters of other threat
// modeling tools' formats share: a position-keeping tree that YAML and JSON
// files are read into under limits, the intermediate model an importer
// builds and its deterministic YAML emitter, id slugs, and the guesses that
// map foreign element types to mlthreat kinds. It imports only model and
// diag; the format packages (threagile, otm, threatdragon) import it.
package interop

import (
	"iter"
	"strconv"
	"strings"
)

// Kind of a tree node.
type Kind uint8

const (
	Null Kind = iota
	Scalar
	Map
	List
)

// Node is one value of a foreign file with its 1-based line and column.
// Aliases and merge keys are already expanded.
type Node struct {
	Kind   Kind
	Quoted bool   // a string rather than a number, bool or null
	Value  string // scalar text
	Line   int
	Col    int
	kids   []*Node // Map: key and value nodes alternating; List: items
}

// Entries yields a map's keys and values in order; nothing for anything else.
// (Written out here: a shared generic helper made the closure escape, an
// allocation per call.)
func (n *Node) Entries() iter.Seq2[*Node, *Node] {
	return func(yield func(*Node, *Node) bool) {
		if n == nil || n.Kind != Map {
			return
		}
		for i := 0; i+1 < len(n.kids); i += 2 {
			if !yield(n.kids[i], n.kids[i+1]) {
				return
			}
		}
	}
}

// Items returns a list's items; nil for anything else.
func (n *Node) Items() []*Node {
	if n == nil || n.Kind != List {
		return nil
	}
	return n.kids
}

// Get returns the value of key in a map, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	for i := 0; i+1 < len(n.kids); i += 2 {
		if n.kids[i].Value == key {
			return n.kids[i+1]
		}
	}
	return nil
}

// Text returns a scalar's text, or "" for anything else.
func (n *Node) Text() string {
	if n == nil || n.Kind != Scalar {
		return ""
	}
	return n.Value
}

// Str returns the trimmed text of key's scalar value.
func (n *Node) Str(key string) string { return strings.TrimSpace(n.Get(key).Text()) }

// Bool reads key as a boolean; ok is false when it is missing or not one.
func (n *Node) Bool(key string) (v, ok bool) {
	s := n.Get(key).Text()
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// Number reads key as a number; ok is false when it is not one.
func (n *Node) Number(key string) (float64, bool) {
	v := n.Get(key)
	if v == nil || v.Kind != Scalar {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.Value), 64)
	return f, err == nil
}

// Strings reads a list of scalars; a lone scalar counts as a one-item list.
func (n *Node) Strings() []string {
	if n == nil {
		return nil
	}
	if n.Kind == Scalar {
		if s := strings.TrimSpace(n.Value); s != "" {
			return []string{s}
		}
		return nil
	}
	var out []string
	for _, it := range n.Items() {
		if it.Kind == Scalar {
			if s := strings.TrimSpace(it.Value); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// Len is the number of entries of a map or items of a list.
func (n *Node) Len() int {
	if n == nil {
		return 0
	}
	if n.Kind == Map {
		return len(n.kids) / 2
	}
	return len(n.Items())
}

// Plain converts the node into plain values for an x- field: string, bool,
// int, float64, nil, []any and Fields (an ordered map).
func (n *Node) Plain() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case Scalar:
		if n.Quoted {
			return n.Value
		}
		switch n.Value {
		case "true":
			return true
		case "false":
			return false
		}
		if i, err := strconv.Atoi(n.Value); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
		return n.Value
	case Map:
		f := make(Fields, 0, len(n.kids)/2)
		for k, v := range n.Entries() {
			f = append(f, Field{k.Value, v.Plain()})
		}
		return f
	case List:
		out := make([]any, 0, len(n.kids))
		for _, it := range n.kids {
			out = append(out, it.Plain())
		}
		return out
	}
	return nil
}

// ItemsOrScalar returns a list's items, a lone scalar as one item, or nil.
func (n *Node) ItemsOrScalar() []*Node {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case List:
		return n.kids
	case Scalar:
		return []*Node{n}
	}
	return nil
}

// KeyNode returns the key node of a map entry, or nil.
func (n *Node) KeyNode(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	for k := range n.Entries() {
		if k.Value == key {
			return k
		}
	}
	return nil
}

// Is reports the node's kind; a missing node is Null.
func (n *Node) Is(k Kind) bool {
	if n == nil {
		return k == Null
	}
	return n.Kind == k
}

package model

import (
	"fmt"
	"strings"
)

// todoKey marks the questions a generated model leaves open (mlthreat init
// writes them): each entry is reported as a warning until a person answers
// it and deletes the line.
const todoKey = "x-todo"

// todos reports every x-todo entry anywhere in the document.
func (c *checker) todos(root *Node) {
	var walk func(n *Node, path string, depth int)
	walk = func(n *Node, path string, depth int) {
		if n == nil || depth > DefaultLimits.MaxDepth {
			return
		}
		switch n.Kind {
		case Map:
			for i, k := range n.Keys {
				p := joinPath(path, k.Value)
				if k.Value == todoKey {
					c.todoEntries(n.Vals[i], p)
					continue
				}
				walk(n.Vals[i], p, depth+1)
			}
		case Seq:
			for i, it := range n.Items {
				walk(it, fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	}
	walk(root, "", 0)
}

func (c *checker) todoEntries(v *Node, path string) {
	entries := []*Node{v}
	if v.Kind == Seq {
		entries = v.Items
	}
	for i, e := range entries {
		p := path
		if v.Kind == Seq {
			p = fmt.Sprintf("%s[%d]", path, i)
		}
		if e.Kind != Scalar || e.Tag == "!!null" {
			c.warnAt(e, "todo", p, "x-todo entries should be text: the question to answer")
			continue
		}
		q := strings.TrimSpace(e.Value)
		if q == "" {
			continue
		}
		c.warnAt(e, "todo", p, "TODO: %s", q)
	}
}

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
	at := &docPath{} // spelt out only at an x-todo
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		if n == nil || depth > DefaultLimits.MaxDepth {
			return
		}
		switch n.Kind {
		case Map:
			for k, v := range n.Entries() {
				if k.Value == todoKey {
					at.push(pathStep{key: k.Value, index: -1})
					c.todoEntries(v, at.String())
					at.pop()
					continue
				}
				if v.Kind != Scalar {
					at.push(pathStep{key: k.Value, index: -1})
					walk(v, depth+1)
					at.pop()
				}
			}
		case Seq:
			for i, it := range n.Items() {
				if it.Kind != Scalar {
					at.push(pathStep{index: i})
					walk(it, depth+1)
					at.pop()
				}
			}
		}
	}
	walk(root, 0)
}

func (c *checker) todoEntries(v *Node, path string) {
	entries := []*Node{v}
	if v.Kind == Seq {
		entries = v.Items()
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

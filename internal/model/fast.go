package model

import "github.com/mlthreat/mlthreat/internal/model/yamlfast"

// parseFast reads b with the fast YAML reader into the tree parse's yaml/v3
// path would give, or reports false, having built nothing usable, when the
// file is outside the reader's subset, nests deeper than lim allows or has
// a duplicate key: the yaml/v3 path then reads it again and reports it.
func parseFast(b []byte, lim Limits) (*Node, bool) {
	big := len(b) > 1<<20
	tb := &treeBuilder{lim: lim, nodes: yamlfast.NewBlocks[Node](block, big), ptrs: yamlfast.NewBlocks[*Node](block*4, big)}
	defer tb.nodes.Close()
	defer tb.ptrs.Close()
	if !yamlfast.Parse(string(b), tb) || tb.root == nil {
		return nil, false
	}
	return tb.root, true
}

// treeBuilder builds a tree from yamlfast's events. Nodes and child slices
// come from blocks, which costs far fewer allocations than one per node.
type treeBuilder struct {
	lim     Limits
	root    *Node
	stack   []frame
	scratch []*Node // children of the open collections, innermost last
	nodes   *yamlfast.Blocks[Node]
	free    []Node // what is left of the current block
	ptrs    *yamlfast.Blocks[*Node]
	freePtr []*Node
}

type frame struct {
	n     *Node
	start int // its first child in scratch
}

const block = 1 << 12

func (b *treeBuilder) node(k NodeKind, tag string, line, col int) *Node {
	if len(b.free) == 0 {
		b.free = b.nodes.Next()
	}
	n := &b.free[0]
	b.free = b.free[1:]
	n.Kind, n.Tag, n.Line, n.Col = k, tag, line, col
	return n
}

// alloc returns n pointers from a block; appending to them reallocates.
func (b *treeBuilder) alloc(n int) []*Node {
	if n > block/4 {
		return make([]*Node, n)
	}
	if len(b.freePtr) < n {
		b.freePtr = b.ptrs.Next()
	}
	out := b.freePtr[:n:n]
	b.freePtr = b.freePtr[n:]
	return out
}

// add places n in the open collection. The depth is counted as parse's
// checkShape counts it (the document is 0, the top-level map 1).
func (b *treeBuilder) add(n *Node) bool {
	if len(b.stack)+1 > b.lim.MaxDepth {
		return false
	}
	if len(b.stack) == 0 {
		b.root = n
		return true
	}
	b.scratch = append(b.scratch, n)
	return true
}

// uniqueKeys reports whether the keys (at even indexes of kv) differ; the
// converter reports a duplicate, so the fast path steps aside for one.
func uniqueKeys(kv []*Node) bool {
	if len(kv) <= 32 {
		for i := 0; i < len(kv); i += 2 {
			for j := i + 2; j < len(kv); j += 2 {
				if kv[i].Value == kv[j].Value {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[string]struct{}, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		if _, dup := seen[kv[i].Value]; dup {
			return false
		}
		seen[kv[i].Value] = struct{}{}
	}
	return true
}

func (b *treeBuilder) Scalar(v, tag string, line, col int) bool {
	n := b.node(Scalar, tag, line, col)
	n.Value = v
	return b.add(n)
}

func (b *treeBuilder) open(k NodeKind, tag string, line, col int) bool {
	n := b.node(k, tag, line, col)
	if !b.add(n) {
		return false
	}
	b.stack = append(b.stack, frame{n: n, start: len(b.scratch)})
	return true
}

func (b *treeBuilder) Map(line, col int) bool { return b.open(Map, "!!map", line, col) }

func (b *treeBuilder) Seq(line, col int) bool { return b.open(Seq, "!!seq", line, col) }

func (b *treeBuilder) End() bool {
	f := b.stack[len(b.stack)-1]
	b.stack = b.stack[:len(b.stack)-1]
	kids := b.scratch[f.start:]
	switch {
	case len(kids) == 0:
		// As the yaml/v3 path leaves them: nil.
	case f.n.Kind == Map && !uniqueKeys(kids):
		return false
	default:
		f.n.kids = b.alloc(len(kids))
		copy(f.n.kids, kids)
	}
	clear(kids)
	b.scratch = b.scratch[:f.start]
	return true
}

package yamlfast

import "math"

// Shape says how a package's node type N holds a document's values, for
// BuildTree. Its methods fill nodes BuildTree hands out zeroed.
type Shape[N any] interface {
	Scalar(n *N, value, tag string, line, col int)
	Collection(n *N, isMap bool, line, col int)
	// Children gives a closed collection its children: a map's keys and
	// values alternating, a list's items; nil for none. False refuses the
	// document (a duplicate key, say).
	Children(n *N, kids []*N) bool
}

// TreeLimits bound a tree: how deep a value may nest (the top-level value
// is at 0) and how many values there may be.
type TreeLimits struct{ Depth, Nodes int }

// NoNodeLimit is TreeLimits.Nodes for no limit on the number of values.
const NoNodeLimit = math.MaxInt

// treeBlock is how many nodes a block holds; child slices come in blocks
// of four times as many pointers.
const treeBlock = 1 << 12

// BuildTree reads src with Parse into a tree of N, or reports false,
// having built nothing usable, where Parse does or a limit or the shape
// refuses it. Nodes and child slices come from blocks, far fewer
// allocations than one per node; over 1 MB they are made ahead on another
// goroutine.
func BuildTree[N any, S Shape[N]](src string, lim TreeLimits) (*N, bool) {
	big := len(src) > 1<<20
	b := &treeBuilder[N, S]{lim: lim, nodes: NewBlocks[N](treeBlock, big), ptrs: NewBlocks[*N](treeBlock*4, big)}
	defer b.nodes.Close()
	defer b.ptrs.Close()
	if !Parse(src, b) || b.root == nil {
		return nil, false
	}
	return b.root, true
}

type treeBuilder[N any, S Shape[N]] struct {
	shape   S
	lim     TreeLimits
	count   int
	root    *N
	stack   []treeFrame[N]
	scratch []*N // children of the open collections, innermost last
	nodes   *Blocks[N]
	free    []N // what is left of the current block
	ptrs    *Blocks[*N]
	freePtr []*N
}

type treeFrame[N any] struct {
	n     *N
	start int // its first child in scratch
}

func (b *treeBuilder[N, S]) node() *N {
	if len(b.free) == 0 {
		b.free = b.nodes.Next()
	}
	n := &b.free[0]
	b.free = b.free[1:]
	return n
}

// alloc returns n pointers from a block; appending to them reallocates.
func (b *treeBuilder[N, S]) alloc(n int) []*N {
	if n > treeBlock/4 {
		return make([]*N, n)
	}
	if len(b.freePtr) < n {
		b.freePtr = b.ptrs.Next()
	}
	out := b.freePtr[:n:n]
	b.freePtr = b.freePtr[n:]
	return out
}

// add places n in the open collection, within the limits.
func (b *treeBuilder[N, S]) add(n *N) bool {
	b.count++
	if b.count > b.lim.Nodes || len(b.stack) > b.lim.Depth {
		return false
	}
	if len(b.stack) == 0 {
		b.root = n
		return true
	}
	b.scratch = append(b.scratch, n)
	return true
}

func (b *treeBuilder[N, S]) Scalar(v, tag string, line, col int) bool {
	n := b.node()
	b.shape.Scalar(n, v, tag, line, col)
	return b.add(n)
}

func (b *treeBuilder[N, S]) open(isMap bool, line, col int) bool {
	n := b.node()
	b.shape.Collection(n, isMap, line, col)
	if !b.add(n) {
		return false
	}
	b.stack = append(b.stack, treeFrame[N]{n: n, start: len(b.scratch)})
	return true
}

func (b *treeBuilder[N, S]) Map(line, col int) bool { return b.open(true, line, col) }

func (b *treeBuilder[N, S]) Seq(line, col int) bool { return b.open(false, line, col) }

func (b *treeBuilder[N, S]) End() bool {
	f := b.stack[len(b.stack)-1]
	b.stack = b.stack[:len(b.stack)-1]
	kids := b.scratch[f.start:]
	var own []*N
	if len(kids) > 0 {
		own = b.alloc(len(kids))
		copy(own, kids)
	}
	clear(kids)
	b.scratch = b.scratch[:f.start]
	return b.shape.Children(f.n, own)
}

// UniqueKeys reports whether the keys of a map's children (at even
// indexes of kv, their text given by key) differ.
func UniqueKeys[N any](kv []*N, key func(*N) string) bool {
	if len(kv) <= 32 {
		for i := 0; i < len(kv); i += 2 {
			for j := i + 2; j < len(kv); j += 2 {
				if key(kv[i]) == key(kv[j]) {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[string]struct{}, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k := key(kv[i])
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
	}
	return true
}

package interop

import "github.com/mlthreat/mlthreat/internal/model/yamlfast"

// parseFast reads b with the fast YAML reader into the tree ParseYAML's
// yaml/v3 path would give, or reports false, having built nothing usable,
// when the file is outside the reader's subset or breaks a limit or has a
// duplicate key: the yaml/v3 path then reads it again and reports it.
func parseFast(b []byte, lim Limits) (*Node, bool) {
	return yamlfast.BuildTree[Node, fastShape](string(b), yamlfast.TreeLimits{Depth: lim.MaxDepth, Nodes: lim.MaxNodes})
}

// fastShape builds the nodes ParseYAML's converter builds.
type fastShape struct{}

func (fastShape) Scalar(n *Node, v, tag string, line, col int) {
	n.Line, n.Col = line, col
	if tag == "!!null" {
		n.Kind = Null
		return
	}
	n.Kind, n.Value = Scalar, v
	n.Quoted = tag == "!!str" || tag == "!!binary" || tag == "!!timestamp"
}

func (fastShape) Collection(n *Node, isMap bool, line, col int) {
	n.Kind, n.Line, n.Col = List, line, col
	if isMap {
		n.Kind = Map
	}
}

// Children refuses a null key or a duplicate: the converter reports them,
// so the fast path steps aside. An empty list is empty, not nil, as the
// converter makes it.
func (fastShape) Children(n *Node, kids []*Node) bool {
	switch {
	case n.Kind == List && kids == nil:
		kids = []*Node{}
	case n.Kind == Map && !goodKeys(kids):
		return false
	}
	n.kids = kids
	return true
}

// goodKeys reports whether the keys (at even indexes of kv) are text and
// differ.
func goodKeys(kv []*Node) bool {
	for i := 0; i < len(kv); i += 2 {
		if kv[i].Kind != Scalar {
			return false
		}
	}
	return yamlfast.UniqueKeys(kv, nodeValue)
}

func nodeValue(n *Node) string { return n.Value }

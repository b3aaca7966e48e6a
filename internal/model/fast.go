package model

import "github.com/mlthreat/mlthreat/internal/model/yamlfast"

// parseFast reads b with the fast YAML reader into the tree parse's yaml/v3
// path would give, or reports false, having built nothing usable, when the
// file is outside the reader's subset, nests deeper than lim allows or has
// a duplicate key: the yaml/v3 path then reads it again and reports it.
func parseFast(b []byte, lim Limits) (*Node, bool) {
	// The depth is counted as parse's checkShape counts it: the document is
	// 0, the top-level map 1.
	return yamlfast.BuildTree[Node, fastShape](string(b), yamlfast.TreeLimits{Depth: lim.MaxDepth - 1, Nodes: yamlfast.NoNodeLimit})
}

// fastShape builds the nodes the yaml/v3 path builds.
type fastShape struct{}

func (fastShape) Scalar(n *Node, v, tag string, line, col int) {
	n.Kind, n.Tag, n.Value, n.Line, n.Col = Scalar, tag, v, line, col
}

func (fastShape) Collection(n *Node, isMap bool, line, col int) {
	n.Kind, n.Tag, n.Line, n.Col = Seq, "!!seq", line, col
	if isMap {
		n.Kind, n.Tag = Map, "!!map"
	}
}

// Children refuses a duplicate key: the converter reports it, so the fast
// path steps aside. No children stay nil, as the yaml/v3 path leaves them.
func (fastShape) Children(n *Node, kids []*Node) bool {
	if n.Kind == Map && !yamlfast.UniqueKeys(kids, nodeValue) {
		return false
	}
	n.kids = kids
	return true
}

func nodeValue(n *Node) string { return n.Value }

package model

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/mlthreat/mlthreat/schema"
)

// referenceSchema compiles the generated schema with a complete JSON Schema
// validator, leaving out the per-kind props branches as the loader does.
func referenceSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.Model))
	if err != nil {
		t.Fatal(err)
	}
	defs := doc.(map[string]any)["$defs"].(map[string]any)
	delete(defs["component"].(map[string]any), "allOf")
	for k := range defs {
		if strings.HasPrefix(k, "props-") {
			delete(defs, k)
		}
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schema.ModelURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schema.ModelURL)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// referencePaths lists where the reference validator finds errors that the
// loader would report (not unknown keys, props or x- keys).
func referencePaths(sch *jsonschema.Schema, root *Node) []string {
	err := sch.Validate(root.Any())
	if err == nil {
		return nil
	}
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if _, ok := e.ErrorKind.(*kind.AnyOf); ok {
			out = append(out, locString(e.InstanceLocation))
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		if _, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
			return
		}
		out = append(out, locString(e.InstanceLocation))
	}
	walk(err.(*jsonschema.ValidationError))
	return normalise(out)
}

func ourPaths(t testing.TB, root *Node) []string {
	sh, err := modelShape()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range sh.check(root, "", nil) {
		out = append(out, e.path)
	}
	return normalise(out)
}

func normalise(paths []string) []string {
	var out []string
	for _, p := range paths {
		parts := strings.Split(p, ".")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "components[") && parts[1] == "props" {
			continue
		}
		if strings.Contains(p, "x-") {
			continue
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func locString(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}

// replacements are wrong (and right) values tried in place of every node.
var replacements = []*Node{
	{Kind: Scalar, Tag: "!!str", Value: "Not An Id!"},
	{Kind: Scalar, Tag: "!!str", Value: "2026-13-45"},
	{Kind: Scalar, Tag: "!!str", Value: "internal"},
	{Kind: Scalar, Tag: "!!int", Value: "0"},
	{Kind: Scalar, Tag: "!!int", Value: "3"},
	{Kind: Scalar, Tag: "!!int", Value: "9"},
	{Kind: Scalar, Tag: "!!float", Value: "2.5"},
	{Kind: Scalar, Tag: "!!bool", Value: "true"},
	{Kind: Scalar, Tag: "!!null", Value: "null"},
	{Kind: Seq, kids: []*Node{{Kind: Scalar, Tag: "!!int", Value: "7"}}},
	{Kind: Map},
}

// TestStructSchemaAgreesWithJSONSchema mutates every node of the examples
// and checks that the run-time checker flags exactly the paths a complete
// JSON Schema validator flags.
func TestStructSchemaAgreesWithJSONSchema(t *testing.T) {
	ref := referenceSchema(t)
	files, _ := filepath.Glob("../../examples/*/system.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	full := filepath.Join(t.TempDir(), "full.yaml")
	if err := os.WriteFile(full, []byte(fullModel), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, full)
	cases := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		root, ds := parse(f, b, DefaultLimits)
		if root == nil {
			t.Fatal(ds)
		}
		if want, got := referencePaths(ref, root), ourPaths(t, root); !slices.Equal(want, got) {
			t.Fatalf("%s: reference %v, ours %v", f, want, got)
		}
		var slots []**Node
		var collect func(n *Node)
		collect = func(n *Node) {
			// Values of maps (odd kids) and items of lists.
			first, step := 0, 1
			if n.Kind == Map {
				first, step = 1, 2
			}
			for i := first; i < len(n.kids); i += step {
				slots = append(slots, &n.kids[i])
				collect(n.kids[i])
			}
		}
		collect(root)
		for si, slot := range slots {
			orig := *slot
			for ri, r := range replacements {
				// Example slots get a third of the replacements; fullModel all of them.
				if f != full && (si+ri)%3 != 0 {
					continue
				}
				*slot = r
				want, got := referencePaths(ref, root), ourPaths(t, root)
				if !slices.Equal(want, got) {
					t.Errorf("%s:%d:%d replaced by %q: reference %v, ours %v", f, orig.Line, orig.Col, r.Value, want, got)
				}
				cases++
			}
			// Deleting a key from a map exercises required.
			*slot = orig
		}
		for _, n := range mapsOf(root) {
			for i := 0; i < len(n.kids); i += 2 {
				kids, key := n.kids, n.kids[i]
				n.kids = slices.Delete(slices.Clone(kids), i, i+2)
				want, got := referencePaths(ref, root), ourPaths(t, root)
				if !slices.Equal(want, got) {
					t.Errorf("%s: without %q at %d:%d: reference %v, ours %v", f, key.Value, key.Line, key.Col, want, got)
				}
				n.kids = kids
				cases++
			}
		}
	}
	t.Logf("%d mutated documents compared", cases)
}

// fullModel uses every structural key of the format at least once.
const fullModel = `mlthreat: 1
system:
  id: demo
  name: Demo
  description: d
  owner: team
  criticality: high
  platforms: [generative]
  tags: [a, b]
  review: {date: 2026-01-01, by: [alice], next: 2027-01-01}
zones:
  - {id: prod, name: Prod, trust: internal, description: d}
components:
  - {id: api, name: API, kind: inference-api, zone: prod, exposure: internet, description: d, owner: o, tags: t, props: {auth: none}}
  - {id: model, kind: model, zone: prod}
flows:
  - {id: f1, from: api, to: model, data: [req], protocol: https, encrypted: true, authenticated: false, bidirectional: true, description: d, props: {}}
data:
  - {id: req, name: Request, classification: confidential, pii: true, description: d}
controls:
  - {id: c1, name: C, description: d, mitigates: [AML.M0004], applies_to: [api], status: implemented, owner: o, evidence: [e], rmf: [MEASURE-2.7]}
threats:
  - {id: t1, title: T, description: d, technique: AML.T0051, related: [AML.T0043], targets: [api], owasp: [LLM01:2025], stride: [T], linddun: [L], rmf: [MAP-1.1], likelihood: 3, impact: 4, status: open}
governance:
  - {practice: incident-response, status: implemented, owner: o, evidence: [e], last_performed: 2026-01-01, description: d}
risk_tracking:
  - {threat: T-0123abcd, status: accepted, justification: j, owner: o, until: 2027-01-01}
`

func mapsOf(n *Node) []*Node {
	var out []*Node
	if n.Kind == Map {
		out = append(out, n)
	}
	for i, k := range n.kids {
		if n.Kind != Map || i%2 == 1 {
			out = append(out, mapsOf(k)...)
		}
	}
	return out
}

func TestStructSchemaMessages(t *testing.T) {
	sh, err := modelShape()
	if err != nil {
		t.Fatal(err)
	}
	src := `mlthreat: "1"
system: {id: Bad Id, name: [x], criticality: extreme, review: {date: 2026-02-30}}
threats:
  - {id: t1, title: T, likelihood: 9, technique: [AML.T0051, 3]}
`
	root, ds := parse("m.yaml", []byte(src), DefaultLimits)
	if root == nil {
		t.Fatal(ds)
	}
	var got []string
	for _, e := range sh.check(root, "", nil) {
		got = append(got, e.path+": "+e.msg)
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		`mlthreat: expected 1, found "1"`,
		`system.id: "Bad Id" does not match`,
		`system.name: expected text, found a list`,
		`system.criticality: expected one of "low", "medium", "high", "critical", found "extreme"`,
		`system.review.date: expected a date written YYYY-MM-DD, found "2026-02-30"`,
		`threats[0].likelihood: expected at most 5, found 9`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

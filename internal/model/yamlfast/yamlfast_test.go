package yamlfast

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// tree is what both parsers are compared on: every value's kind, resolved
// tag, text and position.
type tree struct {
	tag, value string
	line, col  int
	kids       []*tree
}

func (t *tree) String() string {
	var b strings.Builder
	t.write(&b, "")
	return b.String()
}

func (t *tree) write(b *strings.Builder, indent string) {
	fmt.Fprintf(b, "%s%s %q %d:%d\n", indent, t.tag, t.value, t.line, t.col)
	for _, k := range t.kids {
		k.write(b, indent+"  ")
	}
}

type builder struct {
	root  *tree
	stack []*tree
}

func (b *builder) add(t *tree) {
	if len(b.stack) == 0 {
		b.root = t
		return
	}
	top := b.stack[len(b.stack)-1]
	top.kids = append(top.kids, t)
}

func (b *builder) Scalar(v, tag string, line, col int) bool {
	b.add(&tree{tag: tag, value: v, line: line, col: col})
	return true
}

func (b *builder) Map(line, col int) bool {
	t := &tree{tag: "!!map", line: line, col: col}
	b.add(t)
	b.stack = append(b.stack, t)
	return true
}

func (b *builder) Seq(line, col int) bool {
	t := &tree{tag: "!!seq", line: line, col: col}
	b.add(t)
	b.stack = append(b.stack, t)
	return true
}

func (b *builder) End() bool {
	b.stack = b.stack[:len(b.stack)-1]
	return true
}

func fromYAML(n *yaml.Node) *tree {
	if n.Kind == yaml.DocumentNode {
		return fromYAML(n.Content[0])
	}
	t := &tree{tag: n.ShortTag(), value: n.Value, line: n.Line, col: n.Column}
	if n.Kind != yaml.ScalarNode {
		t.value = ""
	}
	for _, c := range n.Content {
		t.kids = append(t.kids, fromYAML(c))
	}
	return t
}

// slow parses src as the loaders do with yaml/v3: one document.
func slow(src string) (*tree, error) {
	dec := yaml.NewDecoder(strings.NewReader(src))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("more than one document (%v)", err)
	}
	if len(root.Content) == 0 {
		return nil, errors.New("empty")
	}
	return fromYAML(&root), nil
}

// agree checks that whenever the fast parser takes src, yaml/v3 reads the
// same tree from it; it reports whether the fast parser took it.
func agree(t *testing.T, name, src string) bool {
	t.Helper()
	b := &builder{}
	if !Parse(src, b) {
		return false
	}
	want, err := slow(src)
	if err != nil {
		t.Fatalf("%s: fast parser accepted what yaml/v3 refuses (%v):\n%s", name, err, src)
	}
	if got := b.root.String(); got != want.String() {
		t.Fatalf("%s: trees differ\n--- source\n%s\n--- yamlfast\n%s--- yaml/v3\n%s", name, src, got, want)
	}
	return true
}

var cases = []struct {
	src  string
	fast bool // whether the fast parser must take it
}{
	{"a: 1\n", true},
	{"a: 1", true},
	{"a: 1\r\nb: [x, y]\r\n", true},
	{"# head\na: b # c\n\n  # indented comment\nd: e\n", true},
	{"a:\nb: c\n", true},
	{"a:   \n  # x\nb:\n", true},
	{"a:\n  b:\n    c: d\n  e: f\ng: h\n", true},
	{"a:\n- x\n- y\nb: z\n", true},
	{"a:\n  - x\n  - 'y'\n  - \"z\"\n", true},
	{"- x\n", false},
	{"list:\n  - id: a\n    name: b\n  - id: c\n    tags: [x, \"y\", 'z']\n", true},
	{"list:\n-   id: a\n    name: b\n", true},
	{"m: {a: 1, b: [2, 3], c: {d: e}, f: []}\n", true},
	{"m: { a: 1 , b: x y z }\n", true},
	{"m: {}\nn: []\no: [ ]\np: { }\n", true},
	{"\"quoted key\": 'single ''q'''\n", true},
	{"k: \"esc \\\" \\\\ \\n \\t \\x41 \\u00e9 \\U0001F600 \\0 \\e \\N \\_ \\L \\P\"\n", true},
	{"k: \"bad \\q\"\n", false},
	{"k: \"bad \\/\"\n", false},
	{"k: \"surrogate \\ud800\"\n", false},
	{"k: 'open\n  more'\n", false},
	{"k: \"open\n  more\"\n", false},
	{"k: plain\n  continued\n", false},
	{"k: |\n  block\n", true},
	{"k: >\n  folded\n", true},
	{"k: >-\n  one\n  two\n\n  three\n\n\n  four\nn: 1\n", true},
	{"k: |-\n  one\n  two\n\n  three\n\nn: 1\n", true},
	{"k: >  # note\n  a # not a comment\n  b\n\n\nn: [x]\n", true},
	{"a:\n  k: |\n    x: y\n    - z\n  n: 1\n", true},
	{"k: >\n  a\n    more indented\n  b\n", false},
	{"k: |+\n  kept\n\n", false},
	{"k: |2\n  x\n", false},
	{"k: >\n\n  leading empty line\n", false},
	{"k: >\n  no final break", false},
	{"k: >\nn: 1\n", false},
	{"k: >\n  a\n     \n  b\n", false},
	{"k: &a x\nl: *a\n", false},
	{"k: !!str 1\n", false},
	{"<<: {a: b}\n", false},
	{"k: <<\n", false},
	{"---\nk: v\n", false},
	{"k: v\n...\n", false},
	{"%YAML 1.2\n---\nk: v\n", false},
	{"k: v\n---\nk: w\n", false},
	{"k:\tv\n", false},
	{"k: v\rw: x\n", false},
	{"? k\n: v\n", false},
	{"k: v: w\n", false},
	{"k: [a, b\n  , c]\n", false},
	{"k: [a, b,]\n", false},
	{"k: [a: b]\n", false},
	{"k: {a}\n", false},
	{"k: {a:b}\n", false},
	{"k: {\"a\":b, 'c':[d], \"e\":{\"f\":\"g\"}, \"h\":-1, \"i\"  :j}\n", true},
	{"k: {\"a\"::b}\n", false},
	{"k: {\"a\":#b}\n", false},
	{"k: [\"a\":b]\n", false},
	{"k: x #comment\n", true},
	{"k: x#notcomment\n", true},
	{"k: \"x\"#c\n", false},
	{"url: http://example.com:8080/x?y=z#frag\n", true},
	{"m: {url: http://x.y/z}\n", true},
	{"types: [1, 1.5, -2, 0x1f, 0o17, 017, 1e3, .5, .inf, -.Inf, .nan, ~, null, Null, true, False, yes, no, on, 2026-01-01, 2026-01-01T10:00:00Z, 1_000, +1, 0b101, '1', \"true\", 08, 1:20, -, -x, +x]\n", true},
	{"a: 1\na: 2\n", true}, // duplicates are the handler's business
	{"ünï: çödé\nk: {ä: ö, ü: [é, è]}\nl: x\n", true},
	{"k: v\n  - x\n", false},
	{"k:\n  - a\n  b: c\n", false},
	{"k:\n    a: 1\n  b: 2\n", false},
	{"  a: 1\n  b: 2\n", true},
	{"  a: 1\nb: 2\n", false},
	{"k:\n  -\n  - a\n", false},
	{"k:\n  - - a\n", false},
	{"k:\n  scalar on its own line\n", false},
	{"", false},
	{"# only a comment\n", false},
	{"k: v\n\x7f\n", false},
	{"k: \u0085\n", false},
	{"k: a\u2028b\n", false},
	{"k: \ufeffx\n", false},
	{"k: \"\u00a0\"\n", true},
	{"k: - x\n", false},
	{"k: ,x\n", false},
	{"k: @x\n", false},
	{"k: `x\n", false},
	{"k: a, b, [c]\n", true},
	{"k: a ]\n", true},
	{"k: [a]b\n", false},
	{"k: [a] b\n", false},
	{"k: [a] # c\n", true},
	{"key with spaces  : value with spaces   \n", true},
	{"a:\n  b: 1\n\n\n  c: 2\n", true},
	{"a: \"\"\nb: ''\n", true},
	{"a: [\"\", '']\n", true},
	{"a: {b: \"\", c: ''}\n", true},
	{"a:\n- b: 1\n  c:\n  - d\n- e\n", true},
	{"a: -1\nb: -.5\nc: +.5\n", true},
	{"a: 'it''s'\n", true},
	{"a: \"\\x7f\\x80\\xff\"\n", true},
	{strings.Repeat("k", 1100) + ": v\n", false},
	{"k: [" + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "]\n", true},
}

func TestCases(t *testing.T) {
	for i, c := range cases {
		name := fmt.Sprintf("case %d", i)
		if got := agree(t, name, c.src); got != c.fast {
			t.Errorf("%s: fast path taken = %v, want %v:\n%s", name, got, c.fast, c.src)
		}
	}
}

// corpus is every YAML file of the repository.
func corpus(t testing.TB) map[string]string {
	root := "../../.."
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = string(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAgreesWithYAMLv3 runs both parsers on every YAML file of the
// repository, and on each file's lines cut in two, to show the fast path
// either agrees with yaml/v3 or steps aside.
func TestAgreesWithYAMLv3(t *testing.T) {
	files := corpus(t)
	taken := 0
	for name, src := range files {
		if agree(t, name, src) {
			taken++
		}
		if testing.Short() {
			continue
		}
		lines := strings.SplitAfter(src, "\n")
		for cut := 1; cut < len(lines) && cut < 200; cut += 7 {
			agree(t, fmt.Sprintf("%s[:%d]", name, cut), strings.Join(lines[:cut], ""))
		}
	}
	t.Logf("fast path taken for %d of %d files", taken, len(files))
	if taken == 0 {
		t.Error("the fast path took no file of the repository")
	}
}

func FuzzAgreesWithYAMLv3(f *testing.F) {
	for _, c := range cases {
		f.Add(c.src)
	}
	for _, src := range corpus(f) {
		if len(src) < 4096 {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		agree(t, "fuzz", src)
	})
}

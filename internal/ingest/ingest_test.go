package ingest_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/ingest"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// input is one metadata file: where to read it and how x-source names it.
type input struct{ path, name string }

func own(name string) input { return input{filepath.Join("testdata", name), name} }

func shared(t *testing.T, rel string) input {
	t.Helper()
	return input{filepath.Join(sharedtest.DataDir(t), rel), rel}
}

func parse(t *testing.T, in input) *ingest.Source {
	t.Helper()
	b, err := os.ReadFile(in.path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ingest.Detect(in.name, b)
	if err != nil {
		t.Fatalf("detect: %v", err)
	}
	s, err := ingest.Parse(in.name, b, f, ingest.DefaultLimits)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/ingest -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./internal/ingest -update and review the diff\n--- got ---\n%s", path, got)
	}
}

var (
	analyserOnce sync.Once
	ruleSet      *rules.Set
	ruleErr      error
)

// check validates generated text and analyses it: a starter model must be
// valid and must already yield threats.
func check(t *testing.T, name string, text []byte) (todos int) {
	t.Helper()
	cat := catalog.Default()
	analyserOnce.Do(func() { ruleSet, ruleErr = rules.Load(cat) })
	if ruleErr != nil {
		t.Fatal(ruleErr)
	}
	s, ds := model.Load(name, text, model.DefaultLimits)
	if s == nil {
		t.Fatalf("%s does not load: %v", name, ds)
	}
	ds = append(ds, validate.Frameworks(s, cat)...)
	for _, d := range ds {
		switch {
		case d.Severity == "error":
			t.Errorf("%s", d)
		case d.Code == "todo":
			todos++
		case d.Code == "no-zone" && strings.HasPrefix(name, "after"):
			// merged components wait for a person to place them
		default:
			t.Errorf("unexpected warning: %s", d)
		}
	}
	rep, err := analysis.Analyze(s, cat, ruleSet, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Threats) == 0 {
		t.Errorf("%s yields no threats", name)
	}
	return todos
}

func TestGolden(t *testing.T) {
	cases := []struct {
		golden string
		inputs func(t *testing.T) []input
	}{
		{"cyclonedx-ml-1.6.yaml", func(t *testing.T) []input {
			return []input{shared(t, "cyclonedx/valid-machine-learning-1.6.json")}
		}},
		{"cyclonedx-ml-env-1.6.yaml", func(t *testing.T) []input {
			return []input{shared(t, "cyclonedx/valid-machine-learning-considerations-env-1.6.json")}
		}},
		{"hf-simple-model-index.yaml", func(t *testing.T) []input {
			return []input{shared(t, "samples/modelcards/hf_hub_fixture_sample_simple_model_index.md")}
		}},
		{"hf-invalid-model-index.yaml", func(t *testing.T) []input {
			return []input{shared(t, "samples/modelcards/hf_hub_fixture_sample_invalid_model_index.md")}
		}},
		{"hf-peft-checkpoint.yaml", func(t *testing.T) []input {
			return []input{shared(t, "samples/modelcards/llamafactory_peft_checkpoint_README.md")}
		}},
		{"hf-wmt16.yaml", func(t *testing.T) []input {
			return []input{shared(t, "samples/modelcards/transformers_allenai_wmt16-en-de-12-1_README.md")}
		}},
		{"mlflow-sklearn.yaml", func(t *testing.T) []input {
			return []input{shared(t, "samples/mlflow/example_mlflow_1x_sklearn_model/MLmodel")}
		}},
		{"mlflow-langchain.yaml", func(t *testing.T) []input {
			return []input{shared(t, "samples/mlflow/example_mlflow_2.12_langchain_model/MLmodel")}
		}},
		{"own-bom-served.yaml", func(*testing.T) []input { return []input{own("bom-served.json")} }},
		{"own-modelcard-modern.yaml", func(*testing.T) []input { return []input{own("modelcard-modern.md")} }},
		{"own-mlflow-pytorch.yaml", func(*testing.T) []input { return []input{own("mlflow-pytorch/MLmodel")} }},
		{"own-bom-and-card.yaml", func(*testing.T) []input {
			return []input{own("bom-served.json"), own("modelcard-modern.md")}
		}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			var srcs []*ingest.Source
			for _, in := range c.inputs(t) {
				srcs = append(srcs, parse(t, in))
			}
			m, err := ingest.Build(srcs, ingest.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			out := ingest.Encode(m)
			golden(t, c.golden, append(out, notes(m)...))
			if n := check(t, c.golden, out); n == 0 {
				t.Errorf("no TODOs: a starter model always leaves questions open")
			}
			if again := ingest.Encode(m); !bytes.Equal(again, out) {
				t.Error("encoding is not deterministic")
			}
		})
	}
}

// notes follow the model in a golden file, as YAML comments.
func notes(m *ingest.Model) []byte {
	var b bytes.Buffer
	for _, n := range m.Notes {
		b.WriteString("# note: " + n + "\n")
	}
	return b.Bytes()
}

func yes() *bool { v := true; return &v }
func no() *bool  { v := false; return &v }

func TestAnswers(t *testing.T) {
	cases := []struct {
		golden string
		in     input
		ans    ingest.Answers
	}{
		{"answers-card-served.yaml", own("modelcard-modern.md"), ingest.Answers{
			Served: yes(), Exposure: "internet", Auth: "api-key", Callers: []string{"public", "employees"},
			Scores: yes(), Retrains: yes(), Owner: "support-ml@acme.example", Criticality: "high"}},
		{"answers-bom-internal.yaml", own("bom-served.json"), ingest.Answers{
			Served: yes(), Exposure: "internal", Auth: "mtls", Callers: []string{"systems"},
			Scores: no(), Retrains: no(), Criticality: "medium"}},
		{"answers-not-served.yaml", own("modelcard-modern.md"), ingest.Answers{Served: no(), Retrains: no()}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			m, err := ingest.Build([]*ingest.Source{parse(t, c.in)}, ingest.Options{ID: "answered"}, &c.ans)
			if err != nil {
				t.Fatal(err)
			}
			out := ingest.Encode(m)
			golden(t, c.golden, out)
			check(t, c.golden, out)
			answered := []string{"'serving:", "'feedback:", "'owner:"}
			if len(c.ans.Callers) > 0 {
				answered = append(answered, "'callers:", "'exposure:", "'props.auth:", "'props.output:")
			}
			for _, q := range answered {
				if q == "'owner:" && c.ans.Owner == "" {
					continue
				}
				if bytes.Contains(out, []byte(q)) {
					t.Errorf("answered question %s is still a TODO", q)
				}
			}
		})
	}
}

func TestNothingUsable(t *testing.T) {
	for name, text := range map[string]string{
		"empty-card.md":  "---\n---\n# Notes\n",
		"libs-only.json": `{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "requests"}]}`,
	} {
		f, err := ingest.Detect(name, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		s, err := ingest.Parse(name, []byte(text), f, ingest.DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := ingest.Build([]*ingest.Source{s}, ingest.Options{}, nil); !errors.Is(err, ingest.ErrNothing) {
			t.Errorf("%s: got %v, want ErrNothing", name, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)
	cases := []struct {
		name, text string
		typ        ingest.Format
		want       string // in the error, with its position
	}{
		{"bom.json", `{"bomFormat": "CycloneDX", "specVersion": "1.6",` + "\n" + `"components": [}`, ingest.CycloneDX, "bom.json:2:16: JSON syntax error"},
		{"bom.json", `{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "x"}`, ingest.CycloneDX, "bom.json:1:"},
		{"bom.json", `{"bomFormat": "CycloneDX", "specVersion": "9.9"}`, ingest.CycloneDX, "specVersion \"9.9\""},
		{"bom.json", `{"bomFormat": "SPDX"}`, ingest.CycloneDX, `bomFormat is "SPDX"`},
		{"bom.json", `{"bomFormat": "CycloneDX", "x": ` + deep + `}`, ingest.CycloneDX, "nested deeper than 128"},
		{"bom.json", "{\"bomFormat\": \"CycloneDX\"\x00}", ingest.CycloneDX, "bom.json:1:26: file contains a NUL byte"},
		{"bom.json", "{\"name\": \"\xff\"}", ingest.CycloneDX, "invalid UTF-8"},
		{"README.md", "---\nbase_model: x\n# no end\n", ingest.ModelCard, "README.md:1:1: front matter opened here is never closed"},
		{"README.md", "---\nbase_model: [x\n---\n", ingest.ModelCard, "README.md:2:1: YAML syntax error"},
		{"README.md", "---\n- a\n- b\n---\n", ingest.ModelCard, "README.md:2:1: front matter is not a map"},
		{"README.md", "# Title only\n", ingest.ModelCard, "no YAML front matter"},
		{"MLmodel", "artifact_path: x\n", ingest.MLflow, "MLmodel:1:1: no flavors: map"},
		{"MLmodel", "flavors:\n  a: [b\n", ingest.MLflow, "YAML syntax error"},
		{"MLmodel", "flavors: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n", ingest.MLflow, "nested deeper than 128"},
	}
	for _, c := range cases {
		_, err := ingest.Parse(c.name, []byte(c.text), c.typ, ingest.DefaultLimits)
		var ie *ingest.Error
		if !errors.As(err, &ie) {
			t.Errorf("%q: got %v, want an *ingest.Error", c.text, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q lacks %q", c.text, err, c.want)
		}
	}
	big := ingest.DefaultLimits
	big.MaxBytes = 10
	if _, err := ingest.Parse("bom.json", []byte(`{"bomFormat": "CycloneDX"}`), ingest.CycloneDX, big); err == nil || !strings.Contains(err.Error(), "over the 10-byte limit") {
		t.Errorf("size limit: %v", err)
	}
	many := ingest.DefaultLimits
	many.MaxComponents = 2
	bom := `{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "data", "name": "a", "components": [{"type": "data", "name": "b"}, {"type": "data", "name": "c"}]}]}`
	if _, err := ingest.Parse("bom.json", []byte(bom), ingest.CycloneDX, many); err == nil || !strings.Contains(err.Error(), "3 components, over the limit of 2") {
		t.Errorf("component limit: %v", err)
	}
}

func TestDetect(t *testing.T) {
	cases := map[string]struct {
		text string
		want ingest.Format
		err  string
	}{
		"bom.json":   {"\n  {\"bomFormat\": \"CycloneDX\"}", ingest.CycloneDX, ""},
		"card.md":    {"\n---\nlicense: mit\n---\n", ingest.ModelCard, ""},
		"MLmodel":    {"artifact_path: m\nflavors:\n  sklearn: {}\n", ingest.MLflow, ""},
		"other.json": {`{"name": "x"}`, "", "only CycloneDX ML-BOMs"},
		"bom.xml":    {`<?xml version="1.0"?><bom/>`, "", "only CycloneDX JSON"},
		"notes.md":   {"# Notes\n", "", "without YAML front matter"},
		"empty":      {"  \n", "", "file is empty"},
		"data.yaml":  {"a: 1\n", "", "cannot tell the format"},
	}
	for name, c := range cases {
		got, err := ingest.Detect(name, []byte(c.text))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", name, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: %q, %v; want %q", name, got, err, c.want)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"CompVis/stable-diffusion":                                    "compvis-stable-diffusion",
		"  Hello, World!  ":                                           "hello-world",
		"http://www.statmt.org/wmt16/ ([test-set](x))":                "statmt.org-wmt16",
		"monitoring.rag.docs_index__86cecd7f519449e494e8083f8c68741a": "monitoring.rag.docs_index",
		"日本語":                   "",
		strings.Repeat("a", 80): strings.Repeat("a", 48),
		"-._x_.-":               "x",
	} {
		if got := ingest.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

// Large BOMs are read quickly, and a model too large to review is refused.
func TestLargeBOM(t *testing.T) {
	bom := func(n int, typ string) []byte {
		var b strings.Builder
		b.WriteString(`{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type": %q, "name": "c%d", "version": "1.0"}`, typ, i)
		}
		b.WriteString("]}")
		return []byte(b.String())
	}
	start := time.Now()
	s, err := ingest.Parse("libs.json", bom(ingest.DefaultLimits.MaxComponents, "library"), ingest.CycloneDX, ingest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Components) != 0 || len(s.Notes) != 1 {
		t.Errorf("non-ML libraries: %d components, notes %v", len(s.Components), s.Notes)
	}
	s, err = ingest.Parse("models.json", bom(ingest.MaxComponents+1, "machine-learning-model"), ingest.CycloneDX, ingest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Build([]*ingest.Source{s}, ingest.Options{}, nil); err == nil || !strings.Contains(err.Error(), "at most 5000") {
		t.Errorf("got %v, want the component limit", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

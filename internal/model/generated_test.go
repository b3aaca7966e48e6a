package model_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/schema"
)

// schema/model.schema.json and docs/model.md must match kinds.yaml and the
// format's structure; `go generate ./internal/model` rewrites both.
func TestSchemaFileUpToDate(t *testing.T) {
	want, err := model.SchemaJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(schema.Model, want) {
		t.Fatal("schema/model.schema.json is out of date: run go generate ./internal/model")
	}
}

func TestDocsUpToDate(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "model.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := model.ReplaceGeneratedDocs(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, want) {
		t.Fatal("docs/model.md's reference is out of date: run go generate ./internal/model")
	}
	for _, k := range model.Kinds().Kinds {
		if !strings.Contains(string(doc), "### `"+k.Kind+"`") {
			t.Errorf("docs/model.md does not document kind %s", k.Kind)
		}
	}
}

func TestVocabulary(t *testing.T) {
	v := model.Kinds()
	want := []string{"actor", "data-source", "dataset", "data-pipeline", "labeling", "feature-store", "training",
		"notebook", "experiment-tracking", "model-registry", "model", "inference-api", "preprocessing",
		"postprocessing", "llm", "prompt", "guardrail", "vector-store", "retriever", "agent", "tool",
		"mcp-server", "memory", "feedback", "datastore", "monitoring", "application", "ci-cd",
		"dependency", "compute", "sensor", "edge-device"}
	if got := strings.Join(v.KindNames(), " "); got != strings.Join(want, " ") {
		t.Fatalf("kinds:\n got %s\nwant %s", got, strings.Join(want, " "))
	}
	// Every kind's example is a valid component of that kind.
	for _, k := range v.Kinds {
		if k.Summary == "" || len(k.Props) == 0 {
			t.Errorf("%s: needs a summary and props", k.Kind)
		}
		src := "mlthreat: 1\nsystem: {id: ex, name: Example}\nzones:\n  - {id: internet, trust: untrusted}\n  - {id: partner, trust: partner}\n  - {id: prod, trust: internal}\n  - {id: training, trust: restricted}\ncomponents:\n" + indent(k.Example)
		_, ds := model.Load(k.Kind+".yaml", []byte(src), model.DefaultLimits)
		if len(ds) != 0 {
			t.Errorf("example of %s is not clean:\n%v", k.Kind, ds)
		}
	}
	// The contract's synonyms are accepted.
	for alias, name := range map[string]string{"authentication": "auth", "rate_limiting": "rate_limit"} {
		if _, canon := v.Prop("inference-api", alias); canon != name {
			t.Errorf("%s should be a synonym of %s, got %q", alias, name, canon)
		}
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func TestKindsJSONUpToDate(t *testing.T) {
	want, err := model.VocabularyJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("kinds.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/model/kinds.json is out of date with kinds.yaml: run go generate ./internal/model")
	}
}

package ingest_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlthreat/mlthreat/internal/ingest"
	"github.com/mlthreat/mlthreat/internal/model"
)

// seed adds the files under testdata and, when present, the shared samples.
func seed(f *testing.F, own []string, shared []string) {
	for _, p := range own {
		if b, err := os.ReadFile(filepath.Join("testdata", p)); err == nil {
			f.Add(b)
		}
	}
	for _, p := range shared {
		if b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", p)); err == nil {
			f.Add(b)
		}
	}
}

// fuzzParse checks that any input either fails with an *ingest.Error or
// yields a model that loads without errors.
func fuzzParse(t *testing.T, name string, b []byte, typ ingest.Format) {
	lim := ingest.DefaultLimits
	lim.MaxBytes = 1 << 20
	s, err := ingest.Parse(name, b, typ, lim)
	if err != nil {
		var ie *ingest.Error
		if !errors.As(err, &ie) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		return
	}
	m, err := ingest.Build([]*ingest.Source{s}, ingest.Options{}, nil)
	if errors.Is(err, ingest.ErrNothing) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	out := ingest.Encode(m)
	if _, ds := model.Load("fuzz.yaml", out, model.DefaultLimits); ds.Errors() > 0 {
		t.Fatalf("generated model is invalid: %v\n%s", ds, out)
	}
}

func FuzzCycloneDX(f *testing.F) {
	seed(f, []string{"bom-served.json"}, []string{
		"cyclonedx/valid-machine-learning-1.6.json",
		"cyclonedx/valid-machine-learning-considerations-env-1.6.json",
	})
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"machine-learning-model","name":"m","modelCard":{"modelParameters":{"task":"Object Detection","datasets":[{"ref":"d"}]}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzParse(t, "bom.json", b, ingest.CycloneDX) })
}

func FuzzModelCard(f *testing.F) {
	seed(f, []string{"modelcard-modern.md"}, []string{
		"samples/modelcards/hf_hub_fixture_sample_simple_model_index.md",
		"samples/modelcards/hf_hub_fixture_sample_invalid_model_index.md",
		"samples/modelcards/llamafactory_peft_checkpoint_README.md",
		"samples/modelcards/transformers_allenai_wmt16-en-de-12-1_README.md",
	})
	f.Add([]byte("---\nbase_model: [a/b, c]\ndatasets: x\ntags: &t [gguf]\nmore: *t\n---\n# T\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzParse(t, "README.md", b, ingest.ModelCard) })
}

func FuzzMLmodel(f *testing.F) {
	seed(f, []string{"mlflow-pytorch/MLmodel"}, []string{
		"samples/mlflow/example_mlflow_1x_sklearn_model/MLmodel",
		"samples/mlflow/example_mlflow_2.12_langchain_model/MLmodel",
	})
	f.Add([]byte("flavors:\n  openai: {model: gpt-4o}\n  python_function: {}\nsignature:\n  inputs: '[{\"type\": \"string\"}]'\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzParse(t, "MLmodel", b, ingest.MLflow) })
}

func BenchmarkCycloneDXSample(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "cyclonedx", "valid-machine-learning-1.6.json"))
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		s, err := ingest.Parse("bom.json", data, ingest.CycloneDX, ingest.DefaultLimits)
		if err != nil {
			b.Fatal(err)
		}
		m, _ := ingest.Build([]*ingest.Source{s}, ingest.Options{}, nil)
		model.Load("x.yaml", ingest.Encode(m), model.DefaultLimits)
	}
}

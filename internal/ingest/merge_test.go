package ingest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/ingest"
)

// A merge keeps everything a person wrote, comments included, and adds what
// the metadata knows; merging the same metadata twice changes nothing more.
func TestMerge(t *testing.T) {
	before, err := os.ReadFile(filepath.Join("testdata", "merge", "before.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ingest.Build([]*ingest.Source{parse(t, own("bom-served.json")), parse(t, own("modelcard-modern.md"))}, ingest.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, warnings, err := ingest.Merge("before.yaml", before, m)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("..", "merge", "after.yaml"), after)
	golden(t, filepath.Join("..", "merge", "warnings.txt"), []byte(strings.Join(warnings, "\n")+"\n"))
	check(t, "after.yaml", after)
	for _, kept := range []string{
		"# Ticket triage: written by the support ML team",
		"owner: support-ml@acme.example # the on-call rota",
		"# The classifier; weights are still pickled",
		"format: pickle # a synonym of artifact_format",
		"id: triage\n",
		"{id: f1, from: agents, to: triage-api, data: [ticket]}",
	} {
		if !bytes.Contains(after, []byte(kept)) {
			t.Errorf("the merge lost %q", kept)
		}
	}
	if bytes.Contains(after, []byte("artifact_format: safetensors")) {
		t.Error("the merge overwrote format: pickle")
	}
	again, _, err := ingest.Merge("after.yaml", after, m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, after) {
		t.Errorf("a second merge changed the model:\n%s", again)
	}
}

func TestMergeRefusesNonModels(t *testing.T) {
	m, err := ingest.Build([]*ingest.Source{parse(t, own("modelcard-modern.md"))}, ingest.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"- a\n- b\n", "a: [\n", ""} {
		if _, _, err := ingest.Merge("x.yaml", []byte(text), m); err == nil {
			t.Errorf("%q: merged into something that is no model", text)
		}
	}
}

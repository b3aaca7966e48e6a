package gap_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
)

func TestGovernanceDocsUpToDate(t *testing.T) {
	cw, err := gap.Load(catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/governance.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := gap.ReplaceGeneratedDocs(doc, cw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, want) {
		t.Fatal("docs/governance.md is out of date: run go generate ./internal/gap")
	}
}

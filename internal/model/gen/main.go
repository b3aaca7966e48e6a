// Command gen writes schema/model.schema.json and the generated reference part
// of docs/model.md from internal/model/kinds.yaml and the format's structure.
// Run it with `go generate ./internal/model`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mlthreat/mlthreat/internal/model"
)

func main() {
	schemaOut := flag.String("schema", "../../schema/model.schema.json", "schema file to write")
	docs := flag.String("docs", "../../docs/model.md", "docs file whose generated section is rewritten")
	flag.Parse()
	kb, err := model.VocabularyJSON()
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile("kinds.json", kb, 0o644); err != nil {
		fail(err)
	}
	b, err := model.SchemaJSON()
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*schemaOut, b, 0o644); err != nil {
		fail(err)
	}
	old, err := os.ReadFile(*docs)
	if err != nil {
		fail(err)
	}
	updated, err := model.ReplaceGeneratedDocs(old)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*docs, updated, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

// Command gen writes internal/catalog/catalog.json; run it with
// `go generate ./internal/catalog` from a checkout with ../shared beside it.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/catalog/source"
)

func main() {
	data := flag.String("data", "../../../shared/data", "the shared data folder")
	own := flag.String("own", ".", "the folder with summaries/ and controls.yaml")
	out := flag.String("out", "catalog.json", "output file")
	flag.Parse()
	c, err := source.Build(*data, *own)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	b, err := source.Encode(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	g, err := catalog.EncodeGob(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(strings.TrimSuffix(*out, ".json")+".gob", g, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// Command gen writes internal/rules/packs.json (the built-in packs as JSON)
// and internal/rules/precompiled.bin (the type-checked CEL of every built-in
// rule condition). Run it with `go generate ./internal/rules`
// after editing a pack in rules/.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/rules"
)

func main() {
	out := flag.String("out", "precompiled.bin", "output file")
	packs := flag.String("packs", "packs.json", "the built-in packs converted to JSON")
	flag.Parse()
	pj, err := rules.PacksJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*packs, pj, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	set, err := rules.Load(catalog.Default())
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	b, err := rules.Precompiled(set)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

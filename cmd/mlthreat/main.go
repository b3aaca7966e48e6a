// Command mlthreat is threat modeling as code for AI systems.
package main

import (
	"os"

	"github.com/mlthreat/mlthreat/internal/cli"
	_ "github.com/mlthreat/mlthreat/internal/startup" // GC settings, before the other packages start
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}

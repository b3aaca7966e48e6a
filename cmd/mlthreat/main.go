// Command mlthreat is threat modeling as code for AI systems.
package main

import (
	"os"
	"runtime/debug"

	"github.com/mlthreat/mlthreat/internal/cli"
)

func main() {
	tuneGC()
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}

// tuneGC: a run is short and most models are small, so collect less often
// than Go's default, under a soft ceiling that keeps large models' peak
// memory lower than the default would. GOGC and GOMEMLIMIT override both.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}

// Package startup tunes the Go runtime for short runs. It imports only the
// standard library, so Go initialises it before the large dependencies
// (packages are initialised in import-path order once their own imports
// are), and their start-up allocations no longer trigger a collection.
package startup

import (
	"os"
	"runtime/debug"
)

// A run is short and most models are small, so collect less often than Go's
// default, under a soft ceiling that keeps large models' peak memory lower
// than the default would. GOGC and GOMEMLIMIT override both. A higher
// ceiling for large inputs only was measured (bench/README.md): 384 MiB
// made 10,000 components 10-20% faster for 30-40% more peak memory and
// smaller models no faster, so it is left to GOMEMLIMIT.
func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}

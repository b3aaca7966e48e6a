// Package startup tunes the Go runtime for short runs. It imports only the
// standard library, so Go initialises it before the large dependencies
// (packages are initialised in import-path order once their own imports
// are), and their start-up allocations no longer trigger a collection.
package startup

import (
	"os"
	"runtime"
	"runtime/debug"
)

// A run is short and most models are small, so collect less often than Go's
// default, under a soft ceiling that bounds large models' peak memory. GOGC
// and GOMEMLIMIT override both. The ceiling was 256 MiB until the rest of a
// large run got faster: then collecting a 200 MB import tree over and over
// under it took a quarter of a 10,000-component run; 512 MiB saves that for
// about 60 MB more peak memory (bench/README.md).
func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(512 << 20)
	}
}

// bigInput is the size from which reading a file builds a tree of hundreds
// of megabytes.
const bigInput = 1 << 20

// Building turns the collector off while a tree is built from a large
// input (size bytes), when nearly everything allocated stays live and a
// collection only marks it again; the soft memory limit still bounds the
// heap. It returns the function that turns the collector back on. It does
// nothing for small inputs or when GOGC is set.
func Building(size int64) (done func()) {
	if size < bigInput || os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(-1)
	return func() { debug.SetGCPercent(old) }
}

// Collect runs a collection after a large input's first tree became
// garbage, so that what comes next reuses its memory instead of touching
// new pages (each costs a page fault).
func Collect(size int64) {
	if size >= bigInput {
		runtime.GC()
	}
}

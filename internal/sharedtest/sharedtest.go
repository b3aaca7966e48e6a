// Package sharedtest locates ../shared/data for tests that check mlthreat
// against the official sources. The binary never uses it.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot is the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// DataDir returns ../shared/data beside the checkout (or $MLTHREAT_SHARED_DATA).
// Outside CI a missing folder skips the test; in CI (CI=true) it fails it,
// because CI always has the data.
func DataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("MLTHREAT_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "atlas", "ATLAS.yaml")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared data not found at %s: %v", dir, err)
		}
		t.Skipf("shared data not found at %s; set MLTHREAT_SHARED_DATA", dir)
	}
	return dir
}

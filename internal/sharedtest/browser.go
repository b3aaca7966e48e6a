package sharedtest

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// Chromium returns the path of a Chromium (or Chrome) binary for the
// browser tests. Without one the test is skipped, or fails when
// MLTHREAT_REQUIRE_BROWSER is set (CI installs Chromium and sets it).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MLTHREAT_REQUIRE_BROWSER") != "" {
		t.Fatal("no Chromium found")
	}
	t.Skip("no Chromium on this machine")
	return ""
}

// BrowserProfile returns a fresh browser profile directory, removed when
// the test ends (retrying while the browser still holds files in it).
func BrowserProfile(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mlthreat-chrome-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the browser profile %s", dir)
	})
	return dir
}

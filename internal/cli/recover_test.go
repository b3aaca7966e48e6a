package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunRecovers(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"version"}, &out, &errb, func(string) string { panic("boom") })
	if code != ExitUsage || !strings.Contains(errb.String(), "internal error: boom") {
		t.Errorf("code %d, stderr %q", code, errb.String())
	}
	if strings.Contains(errb.String(), "goroutine") {
		t.Error("no stack traces for users")
	}
}

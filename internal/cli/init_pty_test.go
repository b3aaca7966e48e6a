package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

// screen collects what the program draws on its terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

var reANSI = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\a]*\a`)

func (s *screen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return reANSI.ReplaceAllString(s.buf.String(), "")
}

// waitFor waits until text has been drawn; each question's title is unique.
func (s *screen) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.text(), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the form never showed %q; screen:\n%s", text, s.text())
}

// The interactive form, driven through a real pseudo-terminal: the answers
// replace the TODOs they answer.
func TestInitInteractive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root := sharedtest.RepoRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "mlthreat")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mlthreat")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	card := filepath.Join(root, "internal", "ingest", "testdata", "modelcard-modern.md")
	out := filepath.Join(dir, "system.yaml")
	cmd := exec.Command(bin, "init", "--from", card, "--interactive", "-o", out)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Skipf("no pseudo-terminal here (%v); the interactive form cannot be driven", err)
	}
	defer tty.Close()
	scr := &screen{}
	go func() { _, _ = copyAll(scr, tty) }()

	// Keys go one at a time: the terminal reader takes a burst of letters
	// for typed text, not for separate key presses.
	steps := []struct {
		wait string
		keys []string
	}{
		{"Who owns this system?", []string{"ml-team@acme.example", "\r"}},
		{"How critical", []string{"j", "j", "j", "\r"}}, // Decide later, Low, Medium, High
		{"served to callers", []string{"y"}},
		{"Who can reach the API", []string{"\r"}},                    // the internet
		{"How do callers authenticate", []string{"j", "j", "\r"}},    // Don't know, They do not, API key
		{"Who sends input", []string{"x", "j", "j", "j", "x", "\r"}}, // anyone on the internet, employees
		{"confidence scores", []string{"n"}},                         // a label only
		{"learn from user feedback", []string{"y"}},
	}
	for _, s := range steps {
		scr.waitFor(t, s.wait)
		for _, k := range s.keys {
			time.Sleep(60 * time.Millisecond)
			if _, err := tty.Write([]byte(k)); err != nil {
				t.Fatal(err)
			}
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("init: %v\nscreen:\n%s", err, scr.text())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("init did not finish; screen:\n%s", scr.text())
	}
	if os.Getenv("MLTHREAT_DEBUG_PTY") != "" {
		t.Logf("screen:\n%q", scr.text())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"owner: ml-team@acme.example",
		"criticality: high",
		"exposure: internet",
		"auth: api-key",
		"output: label",
		"id: public-users",
		"id: employees",
		"kind: feedback",
		"used_for: [retraining]",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("model lacks %q:\n%s", want, got)
		}
	}
	for _, answered := range []string{"'owner:", "'criticality:", "'serving:", "'feedback:", "'exposure:", "'callers:"} {
		if strings.Contains(string(got), answered) {
			t.Errorf("answered question %s is still a TODO", answered)
		}
	}
	code, _, errOut := run("validate", out)
	if code != 0 {
		t.Errorf("validate: exit %d: %s", code, errOut)
	}
}

// copyAll records the screen and answers the queries a terminal answers:
// the background colour (OSC 11) and the cursor position (CSI 6n). Unanswered,
// the program would wait for them and take the test's key presses as replies.
func copyAll(dst *screen, src *os.File) (int64, error) {
	var n int64
	buf := make([]byte, 4096)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			chunk := buf[:k]
			if bytes.Contains(chunk, []byte("\x1b]11;?")) {
				_, _ = src.Write([]byte("\x1b]11;rgb:0000/0000/0000\x1b\\"))
			}
			if bytes.Contains(chunk, []byte("\x1b[6n")) {
				_, _ = src.Write([]byte("\x1b[1;1R"))
			}
			_, _ = dst.Write(chunk)
			n += int64(k)
		}
		if err != nil {
			return n, err
		}
	}
}

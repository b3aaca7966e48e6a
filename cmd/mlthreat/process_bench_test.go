package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds mlthreat once for the process benchmarks.
func binary(b *testing.B) string {
	b.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mlthreat-bench")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "mlthreat")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{err, string(out)}
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// runProcess times whole processes: start-up, catalogue, rules, work, exit.
func runProcess(b *testing.B, args ...string) {
	bin := binary(b)
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
}

// The target: under 40 ms wall for this whole process.
func BenchmarkProcessAnalyzeSentimentJSON(b *testing.B) {
	out := filepath.Join(b.TempDir(), "o.json")
	runProcess(b, "analyze", "examples/sentiment-api/system.yaml", "-f", "json", "-o", out)
}

func BenchmarkProcessVersion(b *testing.B) {
	runProcess(b, "version")
}

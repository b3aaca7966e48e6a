package main

import (
	"fmt"
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

// The target: gate on the sentiment example under 50 ms wall.
func BenchmarkProcessGateSentiment(b *testing.B) {
	packets := b.TempDir()
	bin := binary(b)
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, "gate", "examples/sentiment-api/system.yaml", "--packet-dir", packets)
		cmd.Dir = "../.."
		// The example escalates under the standard policy: exit 1 is expected.
		if out, err := cmd.CombinedOutput(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
			b.Fatalf("gate: %v\n%s", err, out)
		}
	}
}

// The target: gating 500 models at once under 5 s.
func BenchmarkProcessGate500Models(b *testing.B) {
	dir := b.TempDir()
	examples, err := filepath.Glob("../../examples/*/system.yaml")
	if err != nil || len(examples) == 0 {
		b.Fatal("no examples")
	}
	args := []string{"gate", "--packet-dir", filepath.Join(dir, "packets"), "-f", "json", "-o", filepath.Join(dir, "gate.json")}
	for i := range 500 {
		src, err := os.ReadFile(examples[i%len(examples)])
		if err != nil {
			b.Fatal(err)
		}
		d := filepath.Join(dir, "models", fmt.Sprintf("m%03d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		f := filepath.Join(d, "system.yaml")
		if err := os.WriteFile(f, src, 0o644); err != nil {
			b.Fatal(err)
		}
		args = append(args, f)
	}
	bin := binary(b)
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
			b.Fatalf("gate: %v\n%s", err, out)
		}
	}
}

package promptfoo_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/evidence/promptfoo"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func describe(rep *promptfoo.Report, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	if rep == nil {
		return b.String()
	}
	fmt.Fprintf(&b, "eval: %s\nversion: %s\ntimestamp: %s\nformat: %d\nrows: %d (%d plain)\n", rep.EvalID, rep.Version, rep.Timestamp, rep.Format, rep.Rows, rep.Plain)
	for _, g := range rep.Groups {
		fmt.Fprintf(&b, "group from row %d: %s via %q on %q: %d of %d succeeded, %d errors\n", g.First, g.Plugin, g.Strategy, g.Provider, g.Successes, g.Attempts, g.Errors)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func read(t *testing.T, path string) (*promptfoo.Report, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return promptfoo.Read(f, filepath.Base(path))
}

func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 6 {
		t.Fatalf("fixtures missing: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rep, err := read(t, f)
			golden(t, strings.TrimSuffix(f, ".json")+".golden", describe(rep, err))
		})
	}
}

// promptfoo's own export sample is a plain evaluation: no red-team rows.
func TestSample(t *testing.T) {
	path := filepath.Join(sharedtest.DataDir(t), "samples", "promptfoo", "sample-export.trimmed.json")
	rep, err := read(t, path)
	golden(t, filepath.Join("testdata", "samples", "sample-export.golden"), describe(rep, err))
}

func TestShapes(t *testing.T) {
	cases := map[string]string{
		`[]`:                           "expected an object",
		`"x"`:                          "expected an object",
		`{"results": 3}`:               `"results" is a number`,
		`{"results": {"results": {}}}`: "expected an array",
		`{"results": [1, 2]}`:          "",
		`{"evalId": 3, "results": []}`: "evalId",
		`{"results": [{"success": "yes", "testCase": {"metadata": {"pluginId": "p"}}}]}`: "",
		`{`:                       "truncated",
		`{"a": [1, 2, {"b": [}]}`: "invalid JSON",
	}
	for in, want := range cases {
		rep, err := promptfoo.Read(strings.NewReader(in), "x.json")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if want == "" && err != nil {
			t.Errorf("%s: unexpected error %v", in, err)
		}
		if want != "" && !strings.Contains(got, want) {
			t.Errorf("%s: error %q, want %q", in, got, want)
		}
		_ = rep
	}
}

// A row that is too large is reported and ends the reading; the rows
// before it are kept.
func TestRowLimit(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"results": {"results": [{"success": false, "testCase": {"metadata": {"pluginId": "hijacking"}}}, {"response": "`)
	b.WriteString(strings.Repeat("x", promptfoo.MaxValue+1<<20))
	b.WriteString(`"}]}}`)
	rep, err := promptfoo.Read(&b, "big.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 1 || rep.Groups[0].Successes != 1 || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Msg, "larger than the limit") {
		t.Errorf("groups %+v problems %v", rep.Groups, rep.Problems)
	}
}

// FuzzPromptfoo: any input is read without a panic, and every group kept is
// consistent.
func FuzzPromptfoo(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 8<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"evalId":"e","results":{"version":3,"results":[{"success":false,"failureReason":1,"provider":{"id":"p","label":"bot"},"testCase":{"metadata":{"pluginId":"harmful:hate","strategyId":"jailbreak"}}},{"success":true,"testCase":{"metadata":{"pluginId":"harmful:hate","strategyId":"jailbreak"}}},{"failureReason":2,"testCase":{"metadata":{"pluginId":"pii"}}}]},"metadata":{"promptfooVersion":"0.119.0"}}`))
	f.Add([]byte(`{"results":[{"gradingResult":{"pass":false},"metadata":{"pluginId":"x"},"provider":"openai:gpt"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := promptfoo.Read(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		total := 0
		for _, g := range rep.Groups {
			if g.Plugin == "" || g.Attempts < 0 || g.Successes < 0 || g.Successes > g.Attempts || g.Errors < 0 || g.First < 0 || g.First >= rep.Rows {
				t.Fatalf("inconsistent group %+v (rows %d)", g, rep.Rows)
			}
			total += g.Attempts + g.Errors
		}
		if total+rep.Plain > rep.Rows {
			t.Fatalf("%d counted of %d rows", total+rep.Plain, rep.Rows)
		}
	})
}

package generic_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/evidence/generic"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func describe(f *generic.File, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	if f == nil {
		return b.String()
	}
	for _, r := range f.Results {
		fmt.Fprintf(&b, "results[%d]: %s %s %s run %q on %q: %d of %d, techniques %v, date %s, subject %q, note %q\n", r.Index, r.Tool, r.ToolVersion, r.Attack, r.Run, r.Target, r.Successes, r.Attempts, r.Techniques, r.Date, r.Subject, r.Note)
	}
	for _, p := range f.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	return b.String()
}

func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 6 {
		t.Fatalf("fixtures missing: %v", files)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fh, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			f, err := generic.Read(fh, filepath.Base(path))
			got := describe(f, err)
			gp := strings.TrimSuffix(path, ".json") + ".golden"
			if *update {
				os.WriteFile(gp, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(gp)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", gp, got, want)
			}
		})
	}
}

// The examples in docs/evidence.md and the schema's own example read
// without problems.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/evidence.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "```json\n{\n  \"mlthreat_evidence\"")
	if start < 0 {
		t.Fatal("docs/evidence.md has no evidence JSON example")
	}
	body := text[start+len("```json\n"):]
	body = body[:strings.Index(body, "```")]
	f, err := generic.Read(strings.NewReader(body), "docs/evidence.md")
	if err != nil || len(f.Problems) > 0 || len(f.Results) == 0 {
		t.Fatalf("documented example: %v %v", err, f.Problems)
	}
}

// FuzzGenericEvidence: any input is read without a panic and every result
// kept is complete and consistent.
func FuzzGenericEvidence(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := generic.Read(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		for _, r := range file.Results {
			if r.Tool == "" || r.Attack == "" || len(r.Techniques) == 0 || r.Date == "" || r.Attempts < 1 || r.Successes < 0 || r.Successes > r.Attempts {
				t.Fatalf("incomplete result %+v", r)
			}
		}
	})
}

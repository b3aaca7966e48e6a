package garak_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/evidence/garak"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// describe writes what Read found, for golden files.
func describe(rep *garak.Report, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	if rep == nil {
		return b.String()
	}
	fmt.Fprintf(&b, "version: %s\nrun: %s\nstart: %s\nsubject: %s\nlines: %d\n", rep.Version, rep.Run, rep.Start, rep.Subject, rep.Lines)
	for _, e := range rep.Evals {
		fmt.Fprintf(&b, "eval line %d: %s by %s: %d of %d succeeded\n", e.Line, e.Probe, e.Detector, e.Successes, e.Attempts)
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

func readFile(t *testing.T, path string) (*garak.Report, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return garak.Read(f, filepath.Base(path))
}

// Every fixture of ours, in every garak report version, against its golden.
func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.report.jsonl")
	if len(files) < 5 {
		t.Fatalf("fixtures missing: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rep, err := readFile(t, f)
			golden(t, strings.TrimSuffix(f, ".report.jsonl")+".golden", describe(rep, err))
		})
	}
}

// garak's own report samples (../shared/data/samples/garak).
func TestSamples(t *testing.T) {
	dir := filepath.Join(sharedtest.DataDir(t), "samples", "garak")
	for _, name := range []string{"quack", "qual_review_mixed", "test_with_ci"} {
		t.Run(name, func(t *testing.T) {
			rep, err := readFile(t, filepath.Join(dir, name+".report.jsonl"))
			golden(t, filepath.Join("testdata", "samples", name+".golden"), describe(rep, err))
		})
	}
}

func TestEvalFormats(t *testing.T) {
	cases := []struct {
		line string
		want string // "attempts/successes" or a problem fragment
	}{
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":7,"fails":3,"nones":1,"total_evaluated":10}`, "10/3"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":7,"total":10}`, "10/3"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":7,"nones":2,"total":10}`, "10/3"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":7,"total_evaluated":10}`, "10/3"},
		{`{"entry_type":"eval","probe":"probes.a.B","detector":"detectors.c.D","passed":1,"total":1}`, "1/0"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":7,"fails":4,"total_evaluated":10}`, "is not total_evaluated"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":11,"total":10}`, "out of range"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":-1,"fails":1,"total_evaluated":0}`, "out of range"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","total":10}`, "no passed count"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":1}`, "neither total_evaluated nor total"},
		{`{"entry_type":"eval","detector":"c.D","passed":1,"total":1}`, "without probe"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":"x","total":1}`, "expected a number"},
		{`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":1e400,"total":1}`, "passed"},
	}
	for _, c := range cases {
		rep, err := garak.Read(strings.NewReader(`{"entry_type":"init","garak_version":"0.14.0"}`+"\n"+c.line+"\n"), "r.jsonl")
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		got := ""
		if len(rep.Evals) == 1 {
			got = fmt.Sprintf("%d/%d", rep.Evals[0].Attempts, rep.Evals[0].Successes)
		}
		for _, p := range rep.Problems {
			got += p.String()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.line, got, c.want)
		}
		for _, p := range rep.Problems {
			if p.Line != 2 {
				t.Errorf("%s: problem on line %d, want 2", c.line, p.Line)
			}
		}
	}
}

// The same probe and detector twice in one run add up.
func TestRepeatedEval(t *testing.T) {
	in := `{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":7,"total":10}
{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":1,"total":5}
`
	rep, err := garak.Read(strings.NewReader(in), "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Evals) != 1 || rep.Evals[0].Attempts != 15 || rep.Evals[0].Successes != 7 || rep.Evals[0].Line != 1 {
		t.Errorf("got %+v", rep.Evals)
	}
}

func TestNotAReport(t *testing.T) {
	for _, in := range []string{"", "\n\n", "hello\nworld\n", `{"a":1}` + "\n", "[1,2]\n"} {
		if _, err := garak.Read(strings.NewReader(in), "x.jsonl"); err == nil || !strings.Contains(err.Error(), "not a garak report") {
			t.Errorf("%q: err %v", in, err)
		}
	}
}

// A line over the limit is skipped and reported; the lines around it are read.
func TestLongLine(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":1,"total":2}` + "\n")
	b.WriteString(`{"entry_type":"attempt","x":"` + strings.Repeat("y", garak.MaxLine+10) + `"}` + "\n")
	b.WriteString(`{"entry_type":"eval","probe":"e.F","detector":"c.D","passed":1,"total":2}`)
	rep, err := garak.Read(&b, "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Evals) != 2 || len(rep.Problems) != 1 || rep.Problems[0].Line != 2 || !strings.Contains(rep.Problems[0].Msg, "longer than") {
		t.Errorf("evals %+v problems %v", rep.Evals, rep.Problems)
	}
}

func TestLines(t *testing.T) {
	var got []string
	err := garak.Lines(strings.NewReader("a\r\nbb\n\nccc"), 2, func(n int, line []byte, over bool) {
		got = append(got, fmt.Sprintf("%d:%s:%v", n, line, over))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "1:a:false 2:bb:false 3::false 4::true"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestHitlog(t *testing.T) {
	f, err := os.Open("testdata/chatbot-0.16.hitlog.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hits, foreign, problems, err := garak.Hitlog(f, "h", "5f0c6d1e-8a2b-4c3d-9e4f-0a1b2c3d4e5f")
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	if hits[[2]string{"promptinject.HijackHateHumans", "promptinject.AttackRogueString"}] != 2 || hits[[2]string{"web_injection.MarkdownImageExfil", "web_injection.MarkdownExfilBasic"}] != 1 || foreign != 1 {
		t.Errorf("hits %v foreign %d", hits, foreign)
	}
	_, _, problems, _ = garak.Hitlog(strings.NewReader("{\"probe\":\"a\"}\nnope\n"), "h", "")
	if len(problems) != 2 || problems[1].Line != 2 {
		t.Errorf("problems %v", problems)
	}
}

// FuzzGarak: any input is read without a panic, and every eval kept is
// consistent.
func FuzzGarak(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.jsonl")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"entry_type":"eval","probe":"a.B","detector":"c.D","passed":1,"total":2}`))
	f.Add([]byte("{\"entry_type\": \"attempt\"\n{\"entry_type\":"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := garak.Read(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, e := range rep.Evals {
			if e.Attempts < 1 || e.Successes < 0 || e.Successes > e.Attempts || e.Probe == "" || e.Detector == "" || e.Line < 1 || e.Line > rep.Lines {
				t.Fatalf("inconsistent eval %+v", e)
			}
		}
		for _, p := range rep.Problems {
			if p.Line < 1 || p.Line > rep.Lines {
				t.Fatalf("problem outside the file: %v", p)
			}
		}
		hits, _, _, err := garak.Hitlog(bytes.NewReader(data), "fuzz", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range hits {
			if n < 1 {
				t.Fatal("empty hit count")
			}
		}
	})
}

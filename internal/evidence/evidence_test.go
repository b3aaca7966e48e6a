package evidence_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/evidence"
)

func rec(tool, run, attack, target, date string, attempts, successes int, techs ...string) evidence.Record {
	r := evidence.Record{Tool: tool, Run: run, Attack: attack, Target: target, Date: date, Attempts: attempts, Successes: successes, Techniques: techs}
	r.ID = evidence.NewID(r.Tool, r.Run, r.Attack, r.Detector, r.Strategy, r.Subject, r.Target)
	return r
}

func TestPercentAndCount(t *testing.T) {
	for rate, want := range map[float64]string{0: "0%", 0.34: "34%", 1: "100%", 0.025: "2.5%", 0.02: "2%", 0.0004: "0.04%", 0.00001: "<0.01%", 0.106: "11%", 0.0999: "10%"} {
		if got := evidence.Percent(rate); got != want {
			t.Errorf("Percent(%g) = %s, want %s", rate, got, want)
		}
	}
	for n, want := range map[int]string{0: "0", 12: "12", 999: "999", 1000: "1,000", 1200: "1,200", 1234567: "1,234,567", -1200: "-1,200"} {
		if got := evidence.Count(n); got != want {
			t.Errorf("Count(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestIDAndSummary(t *testing.T) {
	a := rec("garak", "run-1", "promptinject.HijackHateHumans", "bot", "2026-11-02", 1200, 408, "AML.T0051.000")
	b := rec("garak", "run-1", "promptinject.HijackHateHumans", "bot", "2026-11-03", 5, 5)
	if a.ID != b.ID {
		t.Error("the id must depend only on tool, run, attack, detector, strategy, subject and target")
	}
	if c := rec("garak", "run-2", "promptinject.HijackHateHumans", "bot", "2026-11-02", 1, 1); c.ID == a.ID {
		t.Error("another run must get another id")
	}
	if got := a.Summary(); got != "34% of 1,200 attempts succeeded on 2026-11-02" {
		t.Error(got)
	}
	if got := rec("g", "r", "a", "t", "2026-01-01", 1, 1).Summary(); got != "100% of 1 attempt succeeded on 2026-01-01" {
		t.Error(got)
	}
}

func TestAgeAndStale(t *testing.T) {
	r := rec("garak", "r", "a", "t", "2026-08-29", 1, 0)
	today := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	if age, ok := r.Age(today); !ok || age != 90 {
		t.Errorf("age %d %v", age, ok)
	}
	if r.Stale(today, 90) || !r.Stale(today, 89) {
		t.Error("stale means older than the limit")
	}
	r.Date = "yesterday"
	if _, ok := r.Age(today); ok || !r.Stale(today, 1000) {
		t.Error("an unreadable date is stale")
	}
}

func TestSameTechnique(t *testing.T) {
	for _, c := range []struct {
		e, t string
		want bool
	}{
		{"AML.T0051", "AML.T0051", true},
		{"AML.T0051.000", "AML.T0051", true},
		{"AML.T0051", "AML.T0051.001", true},
		{"AML.T0051.000", "AML.T0051.001", false},
		{"AML.T0051", "AML.T0054", false},
		{"AML.T0005", "AML.T0005.001", true},
	} {
		if got := evidence.SameTechnique(c.e, c.t); got != c.want {
			t.Errorf("SameTechnique(%s, %s) = %v", c.e, c.t, got)
		}
	}
}

func TestCurrentAndMerge(t *testing.T) {
	old := rec("garak", "r1", "dan.DanInTheWild", "bot", "2026-01-10", 300, 90, "AML.T0054")
	newer := rec("garak", "r2", "dan.DanInTheWild", "bot", "2026-11-01", 300, 3, "AML.T0054")
	other := rec("garak", "r1", "dan.DanInTheWild", "api", "2026-01-10", 300, 90, "AML.T0054")
	cur := evidence.Current([]evidence.Record{old, newer, other})
	if len(cur) != 2 || cur[0].ID != newer.ID || cur[1].ID != other.ID {
		t.Errorf("current: %+v", cur)
	}
	if !evidence.Superseded([]evidence.Record{old, newer}, &old) || evidence.Superseded([]evidence.Record{old, newer}, &newer) {
		t.Error("superseded")
	}
	all, added, skipped := evidence.Merge([]evidence.Record{old}, []evidence.Record{old, newer, newer})
	if len(all) != 2 || len(added) != 1 || len(skipped) != 2 {
		t.Errorf("merge: %d %d %d", len(all), len(added), len(skipped))
	}
}

// Writing and reading back gives the same records, and writing again the
// same bytes.
func TestRoundTrip(t *testing.T) {
	a := rec("garak", "5f0c6d1e", "promptinject.HijackHateHumans", "bot", "2026-11-02", 1200, 408, "AML.T0051.000")
	a.Detector, a.ToolVersion, a.Subject, a.Hits, a.Source = "promptinject.AttackRogueString", "0.16.0", "openai gpt-4o-mini", 2, "r.report.jsonl:5"
	a.ID = evidence.NewID(a.Tool, a.Run, a.Attack, a.Detector, a.Strategy, a.Subject, a.Target)
	b := rec("promptfoo", "eval-1", "harmful:hate", "bot", "2026-11-03", 30, 9, "AML.T0048.002", "AML.T0054")
	b.Strategy, b.ToolVersion, b.Note = "jailbreak", "true", "a note: with # and 'quotes'"
	b.ID = evidence.NewID(b.Tool, b.Run, b.Attack, b.Detector, b.Strategy, b.Subject, b.Target)
	c := rec("art", "null", "FastGradientMethod", "model", "2026-11-20", 3, 1, "AML.T0043.000")
	var buf bytes.Buffer
	if err := evidence.Write(&buf, "system.yaml", []evidence.Record{a, b, c}); err != nil {
		t.Fatal(err)
	}
	got, err := evidence.Parse("e.yaml", buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(got) != 3 || got[0].Hits != 2 || got[1].Strategy != "jailbreak" || got[1].ToolVersion != "true" || got[1].Note != b.Note || got[2].Run != "null" || got[0].Line != 5 {
		t.Errorf("read back: %+v", got)
	}
	var again bytes.Buffer
	for i := range got {
		got[i].Line = 0
	}
	evidence.Write(&again, "system.yaml", got)
	if again.String() != buf.String() {
		t.Errorf("not stable:\n%s\n---\n%s", buf.String(), again.String())
	}
	if !strings.Contains(buf.String(), "success_rate: 0.34\n") || !strings.Contains(buf.String(), "date: 2026-11-02\n") {
		t.Errorf("layout:\n%s", buf.String())
	}
}

func TestParseErrors(t *testing.T) {
	good := rec("garak", "r", "a.B", "bot", "2026-11-02", 10, 1, "AML.T0054")
	head := "mlthreat_evidence: 1\nrecords:\n"
	item := func(extra string) string {
		return "  - {id: " + good.ID + ", tool: garak, run: r, attack: a.B, target: bot, attempts: 10, successes: 1, date: 2026-11-02" + extra + "}\n"
	}
	cases := []struct{ in, want string }{
		{"", "empty file"},
		{"records: []\n", "missing `mlthreat_evidence: 1`"},
		{"mlthreat_evidence: 2\nrecords: []\n", "reads version 1"},
		{head + "  - 3\n", "3: a record must be a mapping"},
		{head + item(", colour: red"), "unknown key \"colour\""},
		{head + item(", attempts: 3"), "given twice"},
		{head + item(", hits: -1"), "not a whole number"},
		{head + item(", techniques: [T1059]"), "not an ATLAS technique id"},
		{head + item(", success_rate: 0.5"), "disagrees"},
		{head + item(", success_rate: 0.1"), ""},
		{head + item("") + item(""), "appears twice (first at line 3)"},
		{head + "  - {id: E-000000000000, tool: garak, run: r, attack: a.B, target: bot, attempts: 1, successes: 0, date: 2026-11-02}\n", "does not match"},
		{head + "  - {tool: garak}\n", "lacks id, attack, target, attempts, successes, date"},
		{head + "  - &a {id: x}\n  - *a\n", "anchors and aliases"},
		{"mlthreat_evidence: 1\nrecords: []\n---\nx: 1\n", "second YAML document"},
		{"mlthreat_evidence: 1\n\trecords: [\n", "YAML"},
		{"mlthreat_evidence: 1\nrecords: {a: 1}\n", "expected a list"},
		{"mlthreat_evidence: 1\nx-note: fine\nrecords: []\n", ""},
		{"mlthreat_evidence: 1\nrecord: []\n", "unknown key \"record\""},
		{"a\x00b", "NUL"},
	}
	for _, c := range cases {
		_, err := evidence.Parse("e.yaml", []byte(c.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if (c.want == "") != (err == nil) || !strings.Contains(got, c.want) {
			t.Errorf("%q: error %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := evidence.Load(filepath.Join(dir, "none.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := evidence.Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	p := filepath.Join(dir, "system.evidence.yaml")
	r := rec("garak", "r", "a.B", "bot", "2026-11-02", 10, 1)
	if err := evidence.WriteFile(p, "system.yaml", []evidence.Record{r}); err != nil {
		t.Fatal(err)
	}
	got, err := evidence.Load(p)
	if err != nil || len(got) != 1 || got[0].ID != r.ID {
		t.Fatalf("%v %+v", err, got)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestPathFor(t *testing.T) {
	for in, want := range map[string]string{"system.yaml": "system.evidence.yaml", "a/b/m.yml": "a/b/m.evidence.yaml", "model": "model.evidence.yaml"} {
		if got := evidence.PathFor(in); got != want {
			t.Errorf("PathFor(%s) = %s", in, got)
		}
	}
}

// FuzzEvidenceFile: the evidence file parser never panics, and whatever it
// accepts passes the record checks and writes back to a file it accepts.
func FuzzEvidenceFile(f *testing.F) {
	r := rec("garak", "r", "a.B", "bot", "2026-11-02", 10, 1, "AML.T0054")
	var b bytes.Buffer
	evidence.Write(&b, "system.yaml", []evidence.Record{r})
	f.Add(b.Bytes())
	f.Add([]byte("mlthreat_evidence: 1\nrecords:\n  - {id: x}\n"))
	f.Add([]byte("mlthreat_evidence: 1\nrecords: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := evidence.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		for i := range recs {
			if msgs := recs[i].Check(); len(msgs) > 0 {
				t.Fatalf("accepted a bad record: %v", msgs)
			}
		}
		var out bytes.Buffer
		if err := evidence.Write(&out, "m.yaml", recs); err != nil {
			t.Fatal(err)
		}
		back, err := evidence.Parse("back.yaml", out.Bytes())
		if err != nil || len(back) != len(recs) {
			t.Fatalf("written file does not read back: %v\n%s", err, out.String())
		}
	})
}

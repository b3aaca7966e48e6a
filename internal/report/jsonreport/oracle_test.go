package jsonreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/synth"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// writeOld is the writer as it was: Build, then json.MarshalIndent per
// threat. It is the oracle for Write.
func writeOld(out io.Writer, d Document) error {
	return writeDocument(out, d, len(d.Threats), func(bw *bufio.Writer) error {
		for i := range d.Threats {
			if i > 0 {
				bw.WriteString(",\n")
			}
			bw.WriteString("    ")
			b, err := json.MarshalIndent(&d.Threats[i], "    ", "  ")
			if err != nil {
				return err
			}
			bw.Write(b)
		}
		return nil
	})
}

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

var ruleSet = sync.OnceValues(func() (*rules.Set, error) { return rules.Load(catalog.Default()) })

func analyze(t testing.TB, s *model.System, opt analysis.Options) *analysis.Report {
	t.Helper()
	set, err := ruleSet()
	if err != nil {
		t.Fatal(err)
	}
	opt.Today = today
	r, err := analysis.Analyze(s, catalog.Default(), set, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func analyzeText(t testing.TB, name string, src []byte, lim model.Limits, opt analysis.Options) *analysis.Report {
	t.Helper()
	s, ds := model.Load(name, src, lim)
	if s == nil || ds.Errors() > 0 {
		t.Fatal(ds)
	}
	validate.Frameworks(s, catalog.Default())
	return analyze(t, s, opt)
}

// checkSame compares Write with the old writer and with json.Encoder on
// the whole document, at several chunk sizes (small ones run the workers).
func checkSame(t *testing.T, name string, r *analysis.Report) {
	t.Helper()
	d := Build(r, "v<1>&")
	var old, whole bytes.Buffer
	if err := writeOld(&old, d); err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(&whole)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old.Bytes(), whole.Bytes()) {
		t.Fatalf("%s: old writer differs from json.Encoder", name)
	}
	defer func(n int) { chunkThreats = n }(chunkThreats)
	for _, n := range []int{256, 1, 3, 64} {
		chunkThreats = n
		var got bytes.Buffer
		if err := (Writer{Version: "v<1>&"}).Write(&got, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), old.Bytes()) {
			t.Errorf("%s (chunks of %d): output differs at byte %d\n%s", name, n, firstDiff(got.Bytes(), old.Bytes()), context(got.Bytes(), old.Bytes()))
		}
	}
}

func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func context(got, want []byte) string {
	i := firstDiff(got, want)
	lo := max(0, i-200)
	return fmt.Sprintf("got:  %q\nwant: %q", got[lo:min(len(got), i+100)], want[lo:min(len(want), i+100)])
}

// The examples, as the golden test analyses them.
func TestWriteMatchesOldExamples(t *testing.T) {
	paths, err := filepath.Glob("../../../examples/*/system.yaml")
	if err != nil || len(paths) < 5 {
		t.Fatalf("examples: %d %v", len(paths), err)
	}
	for _, p := range paths {
		s, ds := validate.File(p, catalog.Default(), model.DefaultLimits)
		if ds.Errors() > 0 {
			t.Fatal(ds)
		}
		checkSame(t, p, analyze(t, s, analysis.Options{}))
	}
}

// record is a garak result, with the line it came from.
func record(attack, target, date string, attempts, successes int, techs ...string) evidence.Record {
	r := sharedtest.GarakRecord(attack, target, date, attempts, successes, techs...)
	r.Source = "g.jsonl:3"
	return r
}

// Evidence, confirmed threats, verified controls and unmatched records.
func TestWriteMatchesOldEvidence(t *testing.T) {
	evs := []evidence.Record{
		record("promptinject.HijackHateHumans", "bot", "2026-11-02", 1200, 408, "AML.T0051.000"),
		record("dan.DanInTheWild", "bot", "2026-11-02", 300, 0, "AML.T0054"),
		record("test.Test", "bot", "2026-11-02", 3, 0),
	}
	r := analyzeText(t, "chatbot.yaml", []byte(sharedtest.Chatbot), model.DefaultLimits, analysis.Options{Evidence: evs})
	n := 0
	for _, th := range r.Threats {
		n += len(th.Evidence)
	}
	if n == 0 || len(r.Verified) == 0 || len(r.Unmatched) == 0 {
		t.Fatalf("fixture lost its evidence: %d refs, %d verified, %d unmatched", n, len(r.Verified), len(r.Unmatched))
	}
	checkSame(t, "chatbot", r)
}

// Enough threats for several chunks at the default size.
func TestWriteMatchesOldSynthetic(t *testing.T) {
	r := analyzeText(t, "synthetic.yaml", synth.Model(300), model.Limits{MaxBytes: 64 << 20, MaxDepth: 64, MaxNodes: 5_000_000}, analysis.Options{})
	if len(r.Threats) < 3*chunkThreats {
		t.Fatalf("only %d threats", len(r.Threats))
	}
	checkSame(t, "synthetic", r)
}

// odd is text that every escaping rule of encoding/json bears on.
const odd = "<a href=\"x\">&amp;</a>\\ \b\f\n\r\t\x00\x1f\x7f é \u2028\u2029 \xff\xfe \xe2\x80 😀"

// Fields as the analysis never fills them: empty, nil, odd text, every
// optional part present.
func TestWriteMatchesOldOddFields(t *testing.T) {
	r := analyzeText(t, "chatbot.yaml", []byte(sharedtest.Chatbot), model.DefaultLimits, analysis.Options{
		Evidence: []evidence.Record{record("promptinject.HijackHateHumans", "bot", "2026-11-02", 1200, 408, "AML.T0051.000")},
	})
	r.System.Info.Name = odd
	base := *r.Threats[0]
	var ts []*analysis.Threat
	add := func(f func(t *analysis.Threat)) {
		th := base
		rule := *base.Rule
		th.Rule = &rule
		f(&th)
		ts = append(ts, &th)
	}
	add(func(t *analysis.Threat) {})
	add(func(t *analysis.Threat) {
		t.ID, t.Rule.ID, t.Rule.Title, t.Rule.Rationale, t.Rule.File = odd, odd, odd, odd, odd
		t.Target = analysis.Target{}
		t.Technique = odd
		t.Tactics, t.STRIDE, t.OWASP, t.RMF, t.CaseStudies = nil, nil, nil, nil, nil
		t.Likelihood.Factors, t.Impact.Factors = nil, nil
		t.Related, t.LINDDUN, t.Residual.Factors = []string{}, []string{}, []string{}
		t.Mitigations = nil
		t.Decision = &model.Decision{Status: odd}
		t.Risk, t.Line, t.Rule.Line = -7, 1<<40, -1
	})
	add(func(t *analysis.Threat) {
		t.Target = analysis.Target{Component: "c", Flow: odd, Zone: "z"}
		t.Related, t.LINDDUN, t.Residual.Factors = []string{odd, ""}, []string{"L", odd}, []string{odd}
		t.Tactics, t.STRIDE, t.OWASP = []string{}, []string{""}, []string{odd}
		t.Mitigations = []analysis.MitigationStatus{{ID: "AML.M0015"}, {ID: odd, Control: odd, Status: odd}, {}}
		t.Decision = &model.Decision{Status: "accepted", Justification: odd, Owner: "o", Until: "2027-01-01", Register: "R-1"}
		t.Confirmed = true
		ev := []analysis.EvidenceRef{
			{Record: evidence.Record{ID: odd, Techniques: nil, Attempts: 3, Successes: 1}, Outcome: odd, Stale: true, AgeDays: -3},
			{Record: evidence.Record{Detector: odd, Strategy: "s", Attempts: 0, Successes: 5, Techniques: []string{}}, Reason: odd},
			{Record: evidence.Record{Attempts: 1 << 30, Successes: 1, Source: odd, Techniques: []string{odd}}},
			{Record: evidence.Record{Attempts: 3, Successes: 1 << 40}},
			{Record: evidence.Record{Attempts: 3, Successes: -2}},
		}
		t.Evidence = append(ev, base.Evidence...)
	})
	r.Threats = ts
	checkSame(t, "odd", r)
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

var errFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errFull
	}
	f.n -= len(p)
	return len(p), nil
}

// A failing writer's error comes back, and no worker is left behind.
func TestWriteError(t *testing.T) {
	r := analyzeText(t, "synthetic.yaml", synth.Model(50), model.DefaultLimits, analysis.Options{})
	var full bytes.Buffer
	if err := (Writer{}).Write(&full, r); err != nil {
		t.Fatal(err)
	}
	defer func(n int) { chunkThreats = n }(chunkThreats)
	before := runtime.NumGoroutine()
	for _, chunk := range []int{1, 5, 256} {
		chunkThreats = chunk
		for _, n := range []int{0, 10, 70 << 10, full.Len() / 3, full.Len() - 1} {
			if err := (Writer{}).Write(&failAfter{n: n}, r); !errors.Is(err, errFull) {
				t.Errorf("chunks of %d, failing after %d bytes: err = %v", chunk, n, err)
			}
		}
	}
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A worker's panic reaches the caller, who can recover it (the server and
// the CLI do), and leaves no worker behind.
func TestWritePanic(t *testing.T) {
	r := analyzeText(t, "synthetic.yaml", synth.Model(50), model.DefaultLimits, analysis.Options{})
	defer func(n int) { chunkThreats = n }(chunkThreats)
	chunkThreats = 2
	broken := *r.Threats[5]
	broken.Rule = nil
	r.Threats[5] = &broken
	before := runtime.NumGoroutine()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		(Writer{}).Write(io.Discard, r)
	}()
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An encoding error (a rate encoding/json cannot write) comes back too.
func TestWriteEncodingError(t *testing.T) {
	_, err := appendFloat(nil, math.NaN())
	_, want := json.Marshal(math.NaN())
	if err == nil || want == nil || err.Error() != want.Error() {
		t.Fatalf("NaN: err %v, encoding/json %v", err, want)
	}
}

// Every byte value, at every offset of the eight-byte fast path.
func TestStringEveryByte(t *testing.T) {
	for c := range 256 {
		for at := range 17 {
			s := []byte("abcdefghijklmnopq")
			s[at] = byte(c)
			want, _ := json.Marshal(string(s))
			if got := appendString(nil, string(s)); !bytes.Equal(got, want) {
				t.Errorf("%q: got %s, want %s", s, got, want)
			}
		}
	}
}

// String and float encoding must match encoding/json exactly.
func FuzzScalars(f *testing.F) {
	for _, s := range []string{"", "plain", odd, "\u2028", "<script>", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x00b"} {
		f.Add(s, 0.0)
	}
	for _, x := range []float64{1, -0.5, 0.34, 1e-6, 9.99e-7, 1e21, 1e20, 123456789.125, math.SmallestNonzeroFloat64, math.MaxFloat64, math.Copysign(0, -1), math.Inf(1), math.NaN()} {
		f.Add("x", x)
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("string %q: got %s, want %s", s, got, want)
		}
		want, werr := json.Marshal(x)
		got, err := appendFloat(nil, x)
		if (err != nil) != (werr != nil) || err == nil && !bytes.Equal(got, want) {
			t.Errorf("float %v: got %s (%v), want %s (%v)", x, got, err, want, werr)
		}
	})
}

// A threat filled from fuzzed text and numbers encodes as MarshalIndent
// encodes its Build form.
func FuzzThreat(f *testing.F) {
	f.Add(odd, "", "AML.M0015", 3, 1, true)
	f.Add("", "x", "", 0, 0, false)
	r := analyzeText(f, "chatbot.yaml", []byte(sharedtest.Chatbot), model.DefaultLimits, analysis.Options{})
	base := *r.Threats[0]
	f.Fuzz(func(t *testing.T, a, b, c string, attempts, successes int, flag bool) {
		th := base
		rule := *base.Rule
		th.Rule = &rule
		th.ID, th.Rule.Title, th.Rule.File, th.Technique = a, b, c, c
		th.Target = analysis.Target{Component: a, Flow: b}
		th.STRIDE, th.Related = []string{a, b}, []string{c}
		th.Mitigations = []analysis.MitigationStatus{{ID: c, Control: b, Status: a}}
		th.Evidence = []analysis.EvidenceRef{{Record: evidence.Record{ID: a, Detector: b, Attempts: attempts, Successes: successes}, Stale: flag, Reason: c}}
		if flag {
			th.Decision = &model.Decision{Status: a, Owner: b}
		}
		want, err := json.MarshalIndent(threat(r, &th), "    ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := newThreatEncoder(r).appendThreat(nil, &th)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("differs\n%s", context(got, want))
		}
	})
}

// BenchmarkWrite writes the report of a 10,000-component model, with the
// old writer and with Write.
func BenchmarkWrite(b *testing.B) {
	r := analyzeText(b, "synthetic.yaml", synth.Model(10_000), model.Limits{MaxBytes: 64 << 20, MaxDepth: 64, MaxNodes: 5_000_000}, analysis.Options{})
	var size int64
	{
		var n countWriter
		if err := (Writer{Version: "bench"}).Write(&n, r); err != nil {
			b.Fatal(err)
		}
		size = int64(n)
	}
	b.Logf("%d threats, %d bytes", len(r.Threats), size)
	b.Run("old", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			if err := writeOld(io.Discard, Build(r, "bench")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			if err := (Writer{Version: "bench"}).Write(io.Discard, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	if path := os.Getenv("JSONREPORT_BENCH_OUT"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := (Writer{Version: "bench"}).Write(f, r); err != nil {
			b.Fatal(err)
		}
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

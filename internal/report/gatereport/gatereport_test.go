package gatereport

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

const boardPolicy = `policy: 1
name: board
fail_on: {severity: critical}
stale: off
escalate: {severity: high}
`

// results gates the two test models: churn passes standard, risky fails it;
// under the board policy risky escalates and gets a packet.
func results(t *testing.T) ([]*gate.Result, *gate.Packet) {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	cw, err := gap.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	std, err := gate.Load("standard", cat)
	if err != nil {
		t.Fatal(err)
	}
	boardFile := filepath.Join(t.TempDir(), "board.yaml")
	if err := os.WriteFile(boardFile, []byte(boardPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	board, err := gate.Load(boardFile, cat)
	if err != nil {
		t.Fatal(err)
	}
	board.File = "board.yaml"
	var out []*gate.Result
	var packet *gate.Packet
	for _, c := range []struct {
		file string
		pol  *gate.Policy
	}{{"testdata/churn.yaml", std}, {"testdata/risky.yaml", std}, {"testdata/risky.yaml", board}} {
		sys, ds := validate.File(c.file, cat, model.DefaultLimits)
		if ds.Errors() > 0 {
			t.Fatal(ds)
		}
		rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today})
		if err != nil {
			t.Fatal(err)
		}
		prof, err := gap.BuiltinProfile(gap.DefaultProfile(sys), sys, cat)
		if err != nil {
			t.Fatal(err)
		}
		gr, err := gap.Analyze(sys, cat, set, cw, prof, gap.Options{Today: today})
		if err != nil {
			t.Fatal(err)
		}
		res, err := gate.Evaluate(c.pol, gate.Input{File: c.file, System: sys, Report: rep, Gap: gr, Model: "m", Today: today})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict == gate.Escalate {
			packet = gate.BuildPacket(res, rep, gr)
		}
		out = append(out, res)
	}
	if out[0].Verdict != gate.Pass || out[1].Verdict != gate.Fail || out[2].Verdict != gate.Escalate || packet == nil {
		t.Fatalf("unexpected verdicts %s %s %s", out[0].Verdict, out[1].Verdict, out[2].Verdict)
	}
	return out, packet
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report/gatereport -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file; if intended, run go test ./internal/report/gatereport -update and review the diff", path)
	}
}

func TestGoldenFormats(t *testing.T) {
	res, packet := results(t)
	formats := map[string]func(*bytes.Buffer) error{
		"gate.txt":    func(b *bytes.Buffer) error { return Table(b, res) },
		"gate.json":   func(b *bytes.Buffer) error { return JSON(b, res, "test") },
		"gate.sarif":  func(b *bytes.Buffer) error { return SARIF(b, res, "test") },
		"gate.junit":  func(b *bytes.Buffer) error { return JUnit(b, res, "2026-11-27T00:00:00Z") },
		"gate.github": func(b *bytes.Buffer) error { return GitHub(b, res) },
		"packet.md":   func(b *bytes.Buffer) error { _, err := b.WriteString(PacketMarkdown(packet)); return err },
		"packet.json": func(b *bytes.Buffer) error {
			js, err := json.MarshalIndent(packet, "", "  ")
			b.Write(js)
			return err
		},
	}
	for name, render := range formats {
		var b1, b2 bytes.Buffer
		if err := render(&b1); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := render(&b2); err != nil || !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Errorf("%s is not byte-identical from run to run", name)
		}
		golden(t, name, b1.Bytes())
	}
}

// The SARIF validates against the official SARIF 2.1.0 schema.
func TestSARIFValidates(t *testing.T) {
	res, _ := results(t)
	f, err := os.Open(filepath.Join(sharedtest.DataDir(t), "sarif", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := SARIF(&b, res, "test"); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("gate SARIF is not valid SARIF 2.1.0: %v", err)
	}
}

// The JUnit XML has the shape of the common JUnit XSD (Jenkins/Ant): a
// testsuites root, testsuite elements with name, tests, failures, errors and
// time, testcase elements with name, classname and time, and failure
// elements with message and type; the counts agree with the cases.
func TestJUnitShape(t *testing.T) {
	res, _ := results(t)
	var b bytes.Buffer
	if err := JUnit(&b, res, "2026-11-27T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name
		Tests    *int    `xml:"tests,attr"`
		Failures *int    `xml:"failures,attr"`
		Time     *string `xml:"time,attr"`
		Suites   []struct {
			Name     *string `xml:"name,attr"`
			Tests    *int    `xml:"tests,attr"`
			Failures *int    `xml:"failures,attr"`
			Errors   *int    `xml:"errors,attr"`
			Time     *string `xml:"time,attr"`
			Cases    []struct {
				Name      *string `xml:"name,attr"`
				Classname *string `xml:"classname,attr"`
				Time      *string `xml:"time,attr"`
				Failure   *struct {
					Message *string `xml:"message,attr"`
					Type    *string `xml:"type,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.XMLName.Local != "testsuites" || doc.Tests == nil || doc.Failures == nil || doc.Time == nil {
		t.Fatalf("root: %+v", doc)
	}
	total, failures := 0, 0
	for _, s := range doc.Suites {
		if s.Name == nil || s.Tests == nil || s.Failures == nil || s.Errors == nil || s.Time == nil {
			t.Fatalf("testsuite misses a required attribute")
		}
		f := 0
		for _, c := range s.Cases {
			if c.Name == nil || c.Classname == nil || c.Time == nil {
				t.Fatalf("testcase misses a required attribute")
			}
			if c.Failure != nil {
				if c.Failure.Message == nil || c.Failure.Type == nil {
					t.Fatalf("failure misses message or type")
				}
				f++
			}
		}
		if *s.Tests != len(s.Cases) || *s.Failures != f {
			t.Errorf("suite %s counts %d/%d, has %d/%d", *s.Name, *s.Tests, *s.Failures, len(s.Cases), f)
		}
		total += len(s.Cases)
		failures += f
	}
	if *doc.Tests != total || *doc.Failures != failures || failures == 0 {
		t.Errorf("root counts %d/%d, want %d/%d", *doc.Tests, *doc.Failures, total, failures)
	}
}

func TestHostileTextIsInert(t *testing.T) {
	r := &gate.Result{File: "a,b:c.yaml", System: "s", Policy: "p", Verdict: gate.Fail, Checks: []string{"custom:x"},
		Findings: []gate.Finding{{Check: "custom:x", Verdict: gate.Fail, Line: 3, Message: "bad\n::error::injected %0A \x1b[31mred\u202e <b>&\x00"}}}
	var gh, tbl, ju bytes.Buffer
	if err := GitHub(&gh, []*gate.Result{r}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(gh.String(), "\n") {
		if strings.HasPrefix(line, "::error::injected") {
			t.Fatalf("a message started a workflow command: %q", gh.String())
		}
	}
	if !strings.Contains(gh.String(), "file=a%2Cb%3Ac.yaml") || !strings.Contains(gh.String(), "%250A") {
		t.Errorf("properties and data must be escaped: %q", gh.String())
	}
	if err := Table(&tbl, []*gate.Result{r}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(tbl.String(), "\x1b\u202e\x00") {
		t.Errorf("control characters reach the terminal: %q", tbl.String())
	}
	if err := JUnit(&ju, []*gate.Result{r}, ""); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := xml.Unmarshal(ju.Bytes(), &v); err != nil {
		t.Errorf("JUnit with hostile text is not well-formed XML: %v", err)
	}
	p := &gate.Packet{System: gate.PacketSystem{ID: "../../etc/x", Name: "<script>alert(1)</script>"}, Reasons: []string{"[x](javascript:alert(1))"}}
	md := PacketMarkdown(p)
	if strings.Contains(md, "<script>") || strings.Contains(md, "- [x](javascript") {
		t.Errorf("packet Markdown carries live markup: %s", md)
	}
	if got := safeName(p.System.ID); strings.Contains(got, "/") {
		t.Errorf("packet file name escapes its directory: %s", got)
	}
}

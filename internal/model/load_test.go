package model_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/model"
)

const minimal = `mlthreat: 1
system: {id: demo, name: Demo}
zones:
  - {id: internet, trust: untrusted}
  - {id: prod, trust: internal}
components:
  - {id: client, kind: actor, zone: internet}
  - id: api
    kind: inference-api
    zone: prod
    exposure: internet
    props: {auth: api-key, rate_limit: none}
  - {id: model, kind: model, zone: prod}
flows:
  - {id: f1, from: client, to: api, data: [req]}
  - {id: f2, from: api, to: model, data: [req]}
data:
  - {id: req, classification: confidential}
`

func load(t *testing.T, src string) (*model.System, diag.List) {
	t.Helper()
	return model.Load("m.yaml", []byte(src), model.DefaultLimits)
}

func find(ds diag.List, code string) *diag.Diagnostic {
	for i := range ds {
		if ds[i].Code == code {
			return &ds[i]
		}
	}
	return nil
}

func TestMinimalIsValid(t *testing.T) {
	s, ds := load(t, minimal)
	if len(ds) != 0 {
		t.Fatalf("unexpected diagnostics:\n%v", ds)
	}
	if s.Info.ID != "demo" || len(s.Components) != 3 || len(s.Flows) != 2 {
		t.Fatalf("decoded %+v", s.Info)
	}
	api := s.Component("api")
	if api.Props["auth"] != "api-key" || api.Exposure != "internet" {
		t.Errorf("api props %v", api.Props)
	}
	if p := api.PropNodes["auth"].Pos(); p.Line != 12 {
		t.Errorf("auth at line %d, want 12", p.Line)
	}
}

func TestSemanticErrors(t *testing.T) {
	cases := []struct {
		name, edit, code, want string
		line, col              int
	}{
		{"dangling flow", "to: model, data: [req]}", "dangling-ref", `"modle" is a missing component; did you mean "model"?`, 16, 0},
		{"bad kind", "kind: model, zone: prod}", "unknown-kind", `unknown component kind "databse"; did you mean "datastore"`, 13, 0},
		{"self flow", "from: api, to: model", "self-flow", "to itself", 16, 0},
		{"unknown zone", "kind: model, zone: prod}", "unknown-zone", `unknown zone "prd"; did you mean "prod"?`, 13, 0},
	}
	replace := map[string][2]string{
		"dangling flow": {"to: model, data: [req]}", "to: modle, data: [req]}"},
		"bad kind":      {"kind: model, zone: prod}", "kind: databse, zone: prod}"},
		"self flow":     {"from: api, to: model", "from: api, to: api"},
		"unknown zone":  {"kind: model, zone: prod}", "kind: model, zone: prd}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := replace[c.name]
			src := strings.Replace(minimal, r[0], r[1], 1)
			_, ds := load(t, src)
			d := find(ds, c.code)
			if d == nil {
				t.Fatalf("no %s diagnostic in\n%v", c.code, ds)
			}
			if !strings.Contains(d.Message, c.want) {
				t.Errorf("message %q lacks %q", d.Message, c.want)
			}
			if d.Line != c.line || d.Severity != diag.Error {
				t.Errorf("at %d:%d (%s), want line %d error", d.Line, d.Col, d.Severity, c.line)
			}
		})
	}
}

func TestUnknownStructuralKeys(t *testing.T) {
	src := strings.Replace(minimal, "flows:", "flow:", 1)
	src = strings.Replace(src, "exposure: internet", "exposre: internet", 1)
	_, ds := load(t, src)
	var msgs []string
	for _, d := range ds {
		if d.Code == "unknown-key" {
			msgs = append(msgs, d.Message)
		}
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{`unknown key "flow" in the top level; did you mean "flows"?`, `unknown key "exposre" in component "api"; did you mean "exposure"?`} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in\n%s", want, joined)
		}
	}
	if ds.Errors() < 2 {
		t.Errorf("unknown structural keys must be errors: %v", ds)
	}
}

func TestPropsAreOpenButChecked(t *testing.T) {
	src := strings.Replace(minimal, "props: {auth: api-key, rate_limit: none}",
		"props: {authentication: api-key, rate_limiting: none, ratelimit: 5, x-team: blue, gpu_count: 2}", 1)
	s, ds := load(t, src)
	if ds.Errors() != 0 {
		t.Fatalf("synonyms and unknown props must not be errors:\n%v", ds)
	}
	api := s.Component("api")
	if api.Props["auth"] != "api-key" || api.Props["rate_limit"] != "none" {
		t.Errorf("synonyms not normalised: %v", api.Props)
	}
	if _, ok := api.Props["x-team"]; ok {
		t.Error("x- props must be dropped")
	}
	w := find(ds, "unknown-prop")
	if w == nil || w.Severity != diag.Warning {
		t.Fatalf("want an unknown-prop warning: %v", ds)
	}
	if !strings.Contains(fmt.Sprint(ds), `"ratelimit"`) || !strings.Contains(fmt.Sprint(ds), `did you mean "rate_limit"`) {
		t.Errorf("want did-you-mean for ratelimit: %v", ds)
	}

	bad := strings.Replace(minimal, "auth: api-key", "auth: apikey", 1)
	_, ds = load(t, bad)
	d := find(ds, "bad-prop-value")
	if d == nil || d.Severity != diag.Error || !strings.Contains(d.Message, `did you mean "api-key"`) {
		t.Fatalf("bad enum value must be an error with a suggestion: %v", ds)
	}
	if d.Line != 12 {
		t.Errorf("line %d, want 12", d.Line)
	}
	both := strings.Replace(minimal, "auth: api-key", "auth: api-key, authentication: none", 1)
	if _, ds := load(t, both); find(ds, "duplicate-prop") == nil {
		t.Errorf("a prop and its synonym together must be an error: %v", ds)
	}
}

func TestExtensionKeysIgnored(t *testing.T) {
	src := "x-generated-by: tool\n" + strings.Replace(minimal, "system: {id: demo, name: Demo}", "system: {id: demo, name: Demo, x-cost-centre: 42}", 1)
	if _, ds := load(t, src); len(ds) != 0 {
		t.Fatalf("x- keys must be ignored: %v", ds)
	}
}

func TestDuplicateIDs(t *testing.T) {
	src := strings.Replace(minimal, "{id: model, kind: model", "{id: api, kind: model", 1)
	_, ds := load(t, src)
	d := find(ds, "duplicate-id")
	if d == nil || !strings.Contains(d.Message, "line 8") {
		t.Fatalf("duplicate id should name the first place: %v", ds)
	}
}

func TestSchemaErrors(t *testing.T) {
	src := strings.Replace(minimal, "system: {id: demo, name: Demo}", "system: {id: demo, criticality: extreme}", 1)
	_, ds := load(t, src)
	text := fmt.Sprint(ds)
	if !strings.Contains(text, `missing required key "name"`) {
		t.Errorf("want the missing name: %s", text)
	}
	if !strings.Contains(text, "system.criticality") {
		t.Errorf("want the bad criticality: %s", text)
	}
	for _, d := range ds {
		if d.Line == 0 {
			t.Errorf("diagnostic without a position: %v", d)
		}
	}
}

func TestHostileInput(t *testing.T) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepBlock := ""
	for i := 0; i < 200; i++ {
		deepBlock += strings.Repeat(" ", i) + "k:\n"
	}
	cases := []struct {
		name, src, code string
	}{
		{"empty", "", "empty"},
		{"blank", "  \n\n", "empty"},
		{"comment only", "# nothing\n", "empty"},
		{"binary", "\x00\x01\x02\xff", "binary"},
		{"not utf8", "mlthreat: 1\nsystem: {id: d, name: \"caf\xe9\"}\n", "encoding"},
		{"tabs", "mlthreat: 1\nsystem:\n\tid: demo\n", "tab"},
		{"duplicate keys", "mlthreat: 1\nsystem: {id: a, name: A}\nsystem: {id: b, name: B}\n", "duplicate-key"},
		{"deep flow nesting", deep, ""},
		{"deep block nesting", deepBlock, "too-deep"},
		{"two documents", "mlthreat: 1\n---\nmlthreat: 1\n", "multi-document"},
		{"scalar", "hello\n", "not-a-map"},
		{"list", "- a\n- b\n", "not-a-map"},
		{"syntax", "mlthreat: 1\nsystem: {id: [\n", "syntax"},
		{"self alias", "a: &a [*a]\n", ""},
		{"key is a map", "? {a: b}\n: c\n", "bad-key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ds := load(t, c.src)
			if ds.Errors() == 0 {
				t.Fatalf("want an error, got %v", ds)
			}
			if c.code != "" && find(ds, c.code) == nil {
				t.Errorf("want code %s, got %v", c.code, ds)
			}
			for _, d := range ds {
				if d.File != "m.yaml" || d.Message == "" {
					t.Errorf("bad diagnostic %+v", d)
				}
			}
		})
	}
	_, ds := load(t, "mlthreat: 1\nsystem:\n  id: demo\n  id: other\n")
	d := find(ds, "duplicate-key")
	if d == nil || d.Line != 4 || !strings.Contains(d.Message, "line 3") {
		t.Errorf("duplicate key position: %v", ds)
	}
}

// aliasBomb builds a "billion laughs" document of about n lines.
func aliasBomb(n int) string {
	var b strings.Builder
	b.WriteString("mlthreat: 1\nsystem: {id: bomb, name: Bomb}\nx-bomb:\n  l0: &l0 [lol]\n")
	levels := 10
	per := n / levels
	for l := 1; l <= levels; l++ {
		fmt.Fprintf(&b, "  l%d: &l%d\n", l, l)
		for i := 0; i < per; i++ {
			fmt.Fprintf(&b, "    - *l%d\n", l-1)
		}
	}
	return b.String()
}

func TestAliasBombIsRejectedCheaply(t *testing.T) {
	src := aliasBomb(100_000)
	if lines := strings.Count(src, "\n"); lines < 100_000 {
		t.Fatalf("bomb has %d lines", lines)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, ds := load(t, src)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if find(ds, "too-many-nodes") == nil {
		t.Fatalf("want too-many-nodes, got %v", ds)
	}
	// Generous bounds (the race detector is slow); the benchmark measures.
	if elapsed > 10*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}

func TestSmallAliasesWork(t *testing.T) {
	src := strings.Replace(minimal, "props: {auth: api-key, rate_limit: none}", "props: &p {auth: api-key, rate_limit: none}", 1)
	src = strings.Replace(src, "{id: model, kind: model, zone: prod}", "{id: api2, kind: inference-api, zone: prod, props: *p}", 1)
	src = strings.Replace(src, "to: model", "to: api2", 1)
	s, ds := load(t, src)
	if ds.Errors() != 0 {
		t.Fatalf("%v", ds)
	}
	if s.Component("api2").Props["auth"] != "api-key" {
		t.Error("alias not expanded")
	}
}

func TestLoadFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, ds := model.LoadFile(big, model.DefaultLimits)
	if find(ds, "too-large") == nil || !strings.Contains(ds[0].Message, "52428800") {
		t.Errorf("50 MB file: %v", ds)
	}
	_, ds = model.LoadFile(filepath.Join(dir, "missing.yaml"), model.DefaultLimits)
	if find(ds, "unreadable") == nil {
		t.Errorf("missing file: %v", ds)
	}
	_, ds = model.LoadFile(dir, model.DefaultLimits)
	if find(ds, "unreadable") == nil {
		t.Errorf("directory: %v", ds)
	}
}

func BenchmarkLoadAliasBomb(b *testing.B) {
	src := []byte(aliasBomb(100_000))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		model.Load("bomb.yaml", src, model.DefaultLimits)
	}
}

// largeModel builds a valid model with n components in a chain.
func largeModel(n int) []byte {
	var b strings.Builder
	b.WriteString("mlthreat: 1\nsystem: {id: big, name: Big}\nzones:\n  - {id: prod, trust: internal}\ncomponents:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - id: c%d\n    kind: model\n    zone: prod\n    props: {task: classification, origin: in-house}\n", i)
	}
	b.WriteString("flows:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - {id: f%d, from: c%d, to: c%d}\n", i, i-1, i)
	}
	return []byte(b.String())
}

func BenchmarkLoad1000Components(b *testing.B) {
	src := largeModel(1000)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, ds := model.Load("big.yaml", src, model.DefaultLimits); ds.Errors() != 0 {
			b.Fatal(ds)
		}
	}
}

func TestBusinessLossModel(t *testing.T) {
	src := minimal + `business:
  currency: EUX
  appetite: 1000000
  losses:
    recall: {min: 500, likely: 100, max: 50}
    reputation: {min: -1, likely: 2, max: 3}
    ip_theft: {min: 0, likely: 5, max: 3}
    outage_hours: {min: 0, likely: 1, max: 2, shape: lognormal}
  frequency:
    - {technique: AML.T0015, tactic: AML.TA0011, min: 1, likely: 2, max: 3}
risk_tracking:
  - {threat: T-0123abcd, register: RISK-1234}
  - {threat: T-0123abce}
`
	_, ds := load(t, src)
	text := fmt.Sprint(ds)
	for _, want := range []string{
		`m.yaml:20:13: error: unknown currency "EUX"; expected an ISO 4217 code such as USD, EUR or GBP; did you mean "EUR"`,
		`m.yaml:23:13: error: business.losses.recall: min 500 is greater than max 50`,
		`business.losses.reputation.min: expected at least 0, found -1`,
		`business.losses.ip_theft: most likely 5 is outside min 0 .. max 3`,
		`business.losses.outage_hours: a lognormal range needs min above 0`,
		`business.frequency[0]: name exactly one of`,
		`risk_tracking[1]: missing ` + "`status`",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "risk_tracking[0]: missing") {
		t.Error("a register-only entry is valid")
	}
	ok := minimal + "business:\n  currency: EUR\n  losses:\n    recall: {min: 1e5, likely: 1e6, max: 1.2e7}\n"
	s, ds := load(t, ok)
	if ds.Errors() > 0 || s.Business == nil || s.Business.Losses["recall"].Max != 1.2e7 || s.Business.Currency != "EUR" {
		t.Errorf("a valid loss model: %v %+v", ds, s.Business)
	}
}

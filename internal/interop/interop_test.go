package interop_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/interop"
)

// Whatever Quote writes, YAML reads back as the same string.
func TestQuoteRoundTrips(t *testing.T) {
	for _, s := range []string{"", "api", "yes", "No", "null", "~", "1.5", "0x1f", "2026-01-01", "-x", "a: b", "a #b", "trailing ", " lead",
		"<script>alert(1)</script>", "line\nbreak", "tab\there", "quote\"s", "back\\slash", "ünïcode", "@at", "*alias", "&anchor", "!tag", "%pct",
		"[x]", "{x}", "x,y", "a'b", "1e3", ".inf", "on", "Off", "TRUE", "web server (prod)", "\u2028", "\x7f", "\u0085x", "\ufeffbom"} {
		var got string
		if err := yaml.Unmarshal([]byte("v: "+interop.Quote(s)+"\n"), &struct{ V *string }{&got}); err != nil {
			t.Errorf("%q -> %s: %v", s, interop.Quote(s), err)
			continue
		}
		if got != s {
			t.Errorf("%q -> %s reads back as %q", s, interop.Quote(s), got)
		}
	}
}

func FuzzQuote(f *testing.F) {
	f.Add("api")
	f.Add("a: b")
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.ContainsRune(s, 0) && strings.ToValidUTF8(s, "") == s {
			var got struct{ V string }
			if err := yaml.Unmarshal([]byte("v: "+interop.Quote(s)+"\n"), &got); err != nil || got.V != s {
				t.Fatalf("%q -> %s -> %q (%v)", s, interop.Quote(s), got.V, err)
			}
		}
	})
}

func TestSlugAndIDs(t *testing.T) {
	for in, want := range map[string]string{"Customer Web Client": "customer-web-client", "<b>x</b>": "b-x-b", "__x": "x", "Ünï": "n", "": "", strings.Repeat("a", 100): strings.Repeat("a", 64)} {
		if got := interop.Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	var ids interop.IDs
	a, b, c := ids.Make("x", "API"), ids.Make("x", "api"), ids.Make("x", "!!!")
	if a != "api" || b != "api-2" || c != "x" {
		t.Errorf("got %s %s %s", a, b, c)
	}
	long := strings.Repeat("b", 64)
	if ids.Make("x", long); len(ids.Make("x", long)) > 64 {
		t.Error("a de-duplicated id must stay within 64 characters")
	}
}

func TestGuessKind(t *testing.T) {
	for text, want := range map[string]string{"vector-store": "vector-store", "Postgres database": "datastore", "GPT-4 chat": "llm", "Jenkins": "ci-cd",
		"fraud classifier": "model", "Scoring API": "inference-api", "Browser": "actor", "something else": "application"} {
		if got, _ := interop.GuessKind(text); got != want {
			t.Errorf("GuessKind(%q) = %s, want %s", text, got, want)
		}
	}
	if _, exact := interop.GuessKind("inference-api"); !exact {
		t.Error("a kind name is an exact match")
	}
}

func TestParseJSONPositions(t *testing.T) {
	n, ds := interop.ParseJSON("f.json", []byte("{\n  \"a\": [1,\n    {\"b\": true}]\n}"), interop.DefaultLimits, "x")
	if ds != nil {
		t.Fatal(ds)
	}
	b := n.Get("a").Items()[1].Get("b")
	if b.Line != 3 || b.Col != 11 || b.Text() != "true" {
		t.Errorf("b at %d:%d %q", b.Line, b.Col, b.Text())
	}
	_, ds = interop.ParseJSON("f.json", []byte("{\n  \"a\": [1,,]\n}"), interop.DefaultLimits, "x")
	if ds == nil || ds[0].Line != 2 {
		t.Errorf("syntax error position: %v", ds)
	}
}

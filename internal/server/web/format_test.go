package web

import (
	"net/url"
	"testing"
	"time"
)

func TestPage(t *testing.T) {
	for _, c := range []struct {
		offset     string
		n          int
		lo, hi     int
		prev, next string
	}{
		{"", 0, 0, 0, "", ""},
		{"", 5, 0, 5, "", ""},
		{"", 250, 0, 100, "", "/reviews?offset=100"},
		{"100", 250, 100, 200, "/reviews", "/reviews?offset=200"},
		{"230", 250, 200, 250, "/reviews?offset=100", ""},
		{"250", 250, 0, 100, "", "/reviews?offset=100"}, // past the end: the first page
		{"-5", 250, 0, 100, "", "/reviews?offset=100"},
		{"x", 250, 0, 100, "", "/reviews?offset=100"},
	} {
		lo, hi, p := page(url.Values{"offset": {c.offset}}, "/reviews", c.n, 100)
		if lo != c.lo || hi != c.hi || p.PrevURL != c.prev || p.NextURL != c.next || p.Total != c.n {
			t.Errorf("offset %q of %d: [%d,%d) %+v", c.offset, c.n, lo, hi, p)
		}
		if hi > lo && (p.From != lo+1 || p.To != hi) {
			t.Errorf("offset %q of %d: from %d to %d", c.offset, c.n, p.From, p.To)
		}
	}
}

func TestFormats(t *testing.T) {
	for h, want := range map[float64]string{0: "0 h", 0.25: "15 min", 5: "5.0 h", 47.9: "47.9 h", 72: "3.0 days", -1: "–"} {
		if got := hours(h); got != want {
			t.Errorf("hours(%v) = %q, want %q", h, got, want)
		}
	}
	for in, want := range map[string]string{"critical": "sev-critical", "low": "sev-low", "": "", `x" onclick="y`: ""} {
		if got := sevClass(in); got != want {
			t.Errorf("sevClass(%q) = %q", in, got)
		}
	}
	if got := oneOf("pass", "fail")("<b>"); got != "other" {
		t.Errorf("oneOf passed %q", got)
	}
	if got := pathOf("systems", "a/b?c#d", "versions", 3); got != "/systems/a%2Fb%3Fc%23d/versions/3" {
		t.Errorf("pathOf = %q", got)
	}
	if got := diffURL("x", 1, 2); got != "/systems/x/diff?from=1&to=2" {
		t.Errorf("diffURL = %q", got)
	}
	if got := plural(2, "subcategory") + ", " + plural(1, "system") + ", " + plural(0, "system"); got != "2 subcategories, 1 system, 0 systems" {
		t.Errorf("plural: %q", got)
	}
	if got := delta(5, 3); got != "−2" {
		t.Errorf("delta = %q", got)
	}
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	if got := age(now, now.Add(-36*time.Hour)); got != "36.0 h" {
		t.Errorf("age = %q", got)
	}
	if got := age(now, time.Time{}); got != "–" {
		t.Errorf("age of zero = %q", got)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "/systems?q=a": "/systems?q=a", "//evil": "/", "/\\evil": "/", "https://evil": "/",
		"javascript:alert(1)": "/", "/login?next=/x": "/", "/a\nb": "/", "systems": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

package mdtext

import (
	"strings"
	"testing"
)

func TestEscapeNeutralisesMarkup(t *testing.T) {
	in := "<script>alert(1)</script> | *x* [l](u) `c` # h @team ~s~\nrow\u202e\u2028end"
	out := Comment(in)
	for _, bad := range []string{"<script", "| *", "[l]", "`c`", "\n", "\u202e", "\u2028", "@team"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q survives in %q", bad, out)
		}
	}
	if Escape("a@example.com") != "a@example.com" {
		t.Errorf("documents keep e-mail addresses: %q", Escape("a@example.com"))
	}
	if Escape("plain text 1.2") != "plain text 1.2" {
		t.Errorf("plain text changed: %q", Escape("plain text 1.2"))
	}
}

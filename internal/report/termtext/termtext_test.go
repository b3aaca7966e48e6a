package termtext

import "testing"

func TestClean(t *testing.T) {
	if got := Clean("a\x1b[31mb\nc\u202ed\u2028e\x00"); got != "a [31mb c d e " {
		t.Errorf("got %q", got)
	}
	if Clean("plain – text ✓") != "plain – text ✓" {
		t.Error("printable text changed")
	}
}

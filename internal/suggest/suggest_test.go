package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3},
		{"flows", "flow", 1}, {"databse", "database", 1}, {"", "abc", 3},
	} {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

func TestClosest(t *testing.T) {
	keys := []string{"components", "flows", "zones", "controls", "data", "threats", "risk_tracking"}
	if got := Closest("flow", keys, 2); len(got) == 0 || got[0] != "flows" {
		t.Errorf("flow -> %v", got)
	}
	if got := Closest("compnents", keys, 2); len(got) == 0 || got[0] != "components" {
		t.Errorf("compnents -> %v", got)
	}
	if got := Closest("xyzzy", keys, 2); len(got) != 0 {
		t.Errorf("xyzzy -> %v, want nothing", got)
	}
	if got := DidYouMean([]string{"a", "b"}); got != `; did you mean "a" or "b"?` {
		t.Errorf("DidYouMean: %s", got)
	}
}

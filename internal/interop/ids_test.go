package interop

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// Slug's shortcut for ids that are slugs already gives what the full
// conversion gives.
func TestSlugShortcut(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab09.-_A Zé/"
	cases := []string{"", "a", "a-b", "a--b", "-a", "a-", ".a", "a.", "_a", "a_", "a._b", "a-.b", strings.Repeat("a", 64), strings.Repeat("a", 65)}
	for range 200_000 {
		n := r.IntN(8)
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		if isSlug(s) && slugOf(s) != s {
			t.Errorf("isSlug(%q), but the conversion gives %q", s, slugOf(s))
		}
	}
}

// Package suggest finds the known words closest to a misspelt one, for the
// "did you mean" part of error messages. It imports nothing from mlthreat.
package suggest

import (
	"sort"
	"strings"
)

// Closest returns up to n candidates nearest to word, each close enough to
// look like a typo of it, best first.
func Closest(word string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	var best []scored
	low := strings.ToLower(word)
	limit := len([]rune(word))/3 + 1
	if limit > 4 {
		limit = 4
	}
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := Distance(low, lc)
		if d <= limit || (len(low) >= 3 && (strings.HasPrefix(lc, low) || strings.HasPrefix(low, lc))) {
			best = append(best, scored{c, d})
		}
	}
	sort.SliceStable(best, func(i, j int) bool { return best[i].d < best[j].d })
	var out []string
	seen := map[string]bool{}
	for _, b := range best {
		if len(out) == n {
			break
		}
		if !seen[b.s] {
			seen[b.s] = true
			out = append(out, b.s)
		}
	}
	return out
}

// DidYouMean words a suggestion list: `; did you mean "a" or "b"?`, or "".
func DidYouMean(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return "; did you mean " + quote(s[0]) + "?"
	}
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = quote(x)
	}
	return "; did you mean " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1] + "?"
}

func quote(s string) string { return "\"" + s + "\"" }

// Distance is the optimal-string-alignment edit distance (a transposition
// counts as one edit). Very long inputs compare as equal or far apart.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

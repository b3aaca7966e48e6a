package ingest

import (
	"fmt"
	"regexp"
	"strings"
)

// reHashTail matches a generated hash at the end of a name, which makes a
// long and unreadable id.
var reHashTail = regexp.MustCompile(`[-_]+[0-9a-f]{16,}$`)

// Slugify derives an id from a name: lower-case ASCII letters, digits, '.',
// '_' and '-', starting with a letter or digit, at most 48 characters. It
// returns "" when nothing usable is left.
func Slugify(name string) string {
	s := strings.ToLower(strings.TrimSpace(name))
	for _, p := range []string{"https://", "http://", "hf://", "www."} {
		s = strings.TrimPrefix(s, p)
	}
	if i := strings.IndexAny(s, " ([?#"); i > 0 && strings.Contains(name, "://") {
		s = s[:i] // a URL followed by Markdown or a query
	}
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	out := strings.Trim(b.String(), "._-")
	out = reHashTail.ReplaceAllString(out, "")
	if len(out) > 48 {
		out = strings.TrimRight(out[:48], "._-")
	}
	return out
}

// normName is the identity of a name across sources.
func normName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.LastIndexByte(s, '/'); i >= 0 && !strings.Contains(s, "://") {
		s = s[i+1:] // "org/model" and "model" name the same model
	}
	return Slugify(s)
}

// ids hands out unique ids in one namespace.
type ids map[string]bool

func (u ids) take(base, fallback string) string {
	if base == "" {
		base = fallback
	}
	id := base
	for i := 2; u[id]; i++ {
		id = fmt.Sprintf("%s-%d", base, i)
	}
	u[id] = true
	return id
}

// next hands out prefix1, prefix2, ... skipping ids in use.
func (u ids) next(prefix string) string {
	for i := 1; ; i++ {
		id := fmt.Sprintf("%s%d", prefix, i)
		if !u[id] {
			u[id] = true
			return id
		}
	}
}

package interop

import (
	"regexp"
	"strconv"
	"strings"
)

// Slug turns foreign text into an id mlthreat accepts: lower-case letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 64
// characters. It returns "" when nothing usable is left.
func Slug(s string) string {
	if isSlug(s) {
		return s // what slugOf gives, without the copy
	}
	return slugOf(s)
}

func slugOf(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_':
			if b.Len() == 0 && (r == '.' || r == '_') {
				continue
			}
			b.WriteRune(r)
			dash = false
		default:
			if b.Len() > 0 && !dash {
				b.WriteByte('-')
				dash = true
			}
		}
		if b.Len() >= 64 {
			break
		}
	}
	return strings.TrimRight(b.String(), "-._")
}

// isSlug reports whether Slug(s) is s: at most 64 lower-case letters,
// digits, '.', '_' and '-', starting with a letter or digit, with no "--"
// and not ending in '-', '.' or '_'.
func isSlug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-':
			if i == 0 || i == len(s)-1 || (c == '-' && s[i-1] == '-') {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// IDs hands out unique ids in one namespace, deterministically: the first
// element to ask for an id gets it, later ones get -2, -3...
type IDs struct{ used map[string]bool }

// Reserve marks an id as taken.
func (s *IDs) Reserve(id string) {
	if s.used == nil {
		s.used = map[string]bool{}
	}
	s.used[id] = true
}

// Grow makes room for n more ids.
func (s *IDs) Grow(n int) {
	if s.used == nil {
		s.used = make(map[string]bool, n)
	}
}

// Taken reports whether id was handed out or reserved.
func (s *IDs) Taken(id string) bool { return s.used[id] }

// Make returns a fresh id from the first candidate that slugs to something,
// else from fallback.
func (s *IDs) Make(fallback string, candidates ...string) string {
	base := ""
	for _, c := range candidates {
		if base = Slug(c); base != "" {
			break
		}
	}
	if base == "" {
		base = fallback
	}
	if s.used == nil {
		s.used = map[string]bool{}
	}
	id := base
	for i := 2; s.used[id]; i++ {
		suf := "-" + strconv.Itoa(i)
		id = strings.TrimRight(base[:min(len(base), 64-len(suf))], "-._") + suf
	}
	s.used[id] = true
	return id
}

var reUUID = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Readable orders a foreign id and a name for Make: the id, unless it is a
// UUID, which reads worse than the name.
func Readable(id, name string) []string {
	if reUUID.MatchString(id) && Slug(name) != "" {
		return []string{name, id}
	}
	return []string{id, name}
}

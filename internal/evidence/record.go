// Package evidence holds red-team and test results as evidence about a
// system's threats: the Record, the evidence file kept beside the model
// (<system>.evidence.yaml) and the rule for which records still count. The
// parsers for each tool live in subpackages; this package imports no other
// mlthreat package, so the analysis can use it without them.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one measured attack: a probe, plugin or attack class run some
// number of times against one element of the system.
type Record struct {
	ID          string   // stable: see NewID
	Tool        string   // garak, promptfoo, art, counterfit, pyrit, manual...
	ToolVersion string   // as the tool reported it
	Run         string   // the tool's run id, or a digest of the source file
	Attack      string   // garak probe, promptfoo plugin, ART attack class...
	Detector    string   // garak detector that judged the outputs
	Strategy    string   // promptfoo strategy that delivered the plugin's inputs
	Subject     string   // what the tool called the system under test
	Techniques  []string // ATLAS techniques the attack exercises
	Target      string   // element id in the model
	Attempts    int      // outputs judged (the sample size)
	Successes   int      // attempts on which the attack succeeded
	Hits        int      // example hits the tool logged (garak's hitlog)
	Date        string   // YYYY-MM-DD the run started
	Source      string   // file:line or file#index the result came from
	Note        string
	Line        int // line of the record in the evidence file, when loaded
}

// Rate is the attack success rate, successes / attempts.
func (r Record) Rate() float64 {
	if r.Attempts <= 0 {
		return 0
	}
	return float64(r.Successes) / float64(r.Attempts)
}

// Age is how many whole days before today the run took place (negative for
// a date in the future); ok is false when the date does not parse.
func (r Record) Age(today time.Time) (days int, ok bool) {
	d, err := time.Parse("2006-01-02", r.Date)
	if err != nil {
		return 0, false
	}
	t := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	return int(t.Sub(d).Hours() / 24), true
}

// Stale reports whether the record is older than maxDays.
func (r Record) Stale(today time.Time, maxDays int) bool {
	age, ok := r.Age(today)
	return !ok || age > maxDays
}

// Label names the record in a sentence: "garak promptinject.HijackHateHumans".
func (r Record) Label() string {
	s := r.Tool + " " + r.Attack
	if r.Strategy != "" && r.Strategy != "basic" {
		s += " via " + r.Strategy
	}
	return s
}

// Summary words the result: "34% of 1,200 attempts succeeded on 2026-11-02".
func (r Record) Summary() string {
	return Percent(r.Rate()) + " of " + Count(r.Attempts) + " attempt" + plural(r.Attempts) + " succeeded on " + r.Date
}

// NewID is the stable id of a result: the same tool, run, attack, detector,
// strategy, subject and target always give the same id, so importing a
// report twice adds nothing.
func NewID(tool, run, attack, detector, strategy, subject, target string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{tool, run, attack, detector, strategy, subject, target}, "\x00")))
	return "E-" + hex.EncodeToString(h[:6])
}

// series identifies repeated measurements of the same thing.
func (r *Record) series() string {
	return strings.Join([]string{r.Tool, r.Attack, r.Detector, r.Strategy, r.Subject, r.Target}, "\x00")
}

// Current keeps, of every series of runs of the same attack (same tool,
// attack, detector, strategy and subject) on the same target, the records of
// the newest date: a later run supersedes an earlier one. A record given
// twice (the same id) counts once. The order of recs is kept.
func Current(recs []Record) []Record {
	newest := map[string]string{}
	for i := range recs {
		k := recs[i].series()
		if recs[i].Date > newest[k] {
			newest[k] = recs[i].Date
		}
	}
	var out []Record
	seen := map[string]bool{}
	for i := range recs {
		if recs[i].Date == newest[recs[i].series()] && !seen[recs[i].ID] {
			seen[recs[i].ID] = true
			out = append(out, recs[i])
		}
	}
	return out
}

// Superseded reports whether a newer record of the same series exists.
func Superseded(recs []Record, r *Record) bool {
	k := r.series()
	for i := range recs {
		if recs[i].series() == k && recs[i].Date > r.Date {
			return true
		}
	}
	return false
}

// SameTechnique reports whether evidence about technique e bears on a threat
// whose technique is t: the same technique, or one is a sub-technique of the
// other (AML.T0051.000 and AML.T0051). Two sibling sub-techniques do not.
func SameTechnique(e, t string) bool {
	return e == t || parentOf(e) == t || parentOf(t) == e
}

func parentOf(tech string) string {
	if i := strings.LastIndexByte(tech, '.'); i > len("AML.T") {
		return tech[:i]
	}
	return tech
}

// Percent words a rate in [0, 1]: 0.34 is "34%", 0.025 "2.5%", 0.0004 "0.04%".
func Percent(rate float64) string {
	v := rate * 100
	var s string
	switch {
	case v == 0:
		return "0%"
	case v >= 10:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
		if s == "0.00" {
			return "<0.01%"
		}
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + "%"
}

// Count writes n with thousands separators: 1200 is "1,200".
func Count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Problem is something wrong at one place in an input: a line of a report,
// a record of the evidence file, or an index in a JSON array.
type Problem struct {
	File string
	Line int // 0 when the place is not a line
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	if p.File != "" {
		return p.File + ": " + p.Msg
	}
	return p.Msg
}

// Problems is a list of problems that is also an error.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

var (
	idPattern        = regexp.MustCompile(`^E-[0-9a-f]{12}$`)
	techniquePattern = regexp.MustCompile(`^AML\.T[0-9]{4}(\.[0-9]{3})?$`)
	namePattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// ValidTechnique reports whether id is shaped like an ATLAS technique id.
func ValidTechnique(id string) bool { return techniquePattern.MatchString(id) }

// ValidTool reports whether name is a usable tool name: lower case, digits,
// '.', '_' or '-', at most 64 characters.
func ValidTool(name string) bool { return namePattern.MatchString(name) }

// ValidDate reports whether s is a real YYYY-MM-DD date.
func ValidDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil && len(s) == 10
}

// Limits on one record's numbers, far above any real test run.
const (
	MaxAttempts = 1 << 40
	MaxText     = 4096 // bytes of any one text field
)

// Check reports what is wrong with one record on its own: its id, numbers,
// date, technique spellings and text lengths. Whether the techniques and the
// target exist is for the caller to check against the catalogue and model.
func (r *Record) Check() []string {
	var out []string
	if !idPattern.MatchString(r.ID) {
		out = append(out, fmt.Sprintf("id %q is not E- and 12 hex digits", r.ID))
	} else if want := NewID(r.Tool, r.Run, r.Attack, r.Detector, r.Strategy, r.Subject, r.Target); want != r.ID {
		out = append(out, fmt.Sprintf("id %s does not match the record's tool, run, attack, detector, strategy, subject and target (expected %s); a changed field needs a new id", r.ID, want))
	}
	if !ValidTool(r.Tool) {
		out = append(out, fmt.Sprintf("tool %q: use lower-case letters, digits, '.', '_' or '-'", r.Tool))
	}
	if r.Attack == "" {
		out = append(out, "attack is empty: name the probe, plugin or attack class")
	}
	if r.Target == "" {
		out = append(out, "target is empty: name the element of the model that was tested")
	}
	if r.Attempts < 1 || r.Attempts > MaxAttempts {
		out = append(out, fmt.Sprintf("attempts %d: must be between 1 and %d", r.Attempts, int64(MaxAttempts)))
	}
	if r.Successes < 0 || r.Successes > r.Attempts {
		out = append(out, fmt.Sprintf("successes %d: must be between 0 and attempts (%d)", r.Successes, r.Attempts))
	}
	if r.Hits < 0 {
		out = append(out, fmt.Sprintf("hits %d: must not be negative", r.Hits))
	}
	if !ValidDate(r.Date) {
		out = append(out, fmt.Sprintf("date %q: expected YYYY-MM-DD", r.Date))
	}
	for _, t := range r.Techniques {
		if !ValidTechnique(t) {
			out = append(out, fmt.Sprintf("technique %q is not an ATLAS technique id (AML.T0051 or AML.T0051.000)", t))
		}
	}
	for _, f := range []struct{ name, v string }{{"tool_version", r.ToolVersion}, {"run", r.Run}, {"attack", r.Attack}, {"detector", r.Detector}, {"strategy", r.Strategy}, {"subject", r.Subject}, {"target", r.Target}, {"source", r.Source}, {"note", r.Note}} {
		if len(f.v) > MaxText {
			out = append(out, fmt.Sprintf("%s is longer than %d bytes", f.name, MaxText))
		}
		if control(f.v, f.name == "note") {
			out = append(out, f.name+" holds control characters or invalid UTF-8; it would be printed to terminals and reports")
		}
	}
	return out
}

// control reports whether s is invalid UTF-8 or holds a control character
// (a note may hold line breaks and tabs).
func control(s string, note bool) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, c := range s {
		if note && (c == '\n' || c == '\t') {
			continue
		}
		if c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 {
			return true
		}
	}
	return false
}

// Printable returns s for a message: as it is when it holds nothing a
// terminal would act on, else quoted with Go escapes.
func Printable(s string) string {
	if control(s, false) {
		return strconv.Quote(s)
	}
	return s
}

// Sort orders records by date, tool, attack, detector, strategy and id, the
// order `evidence list` prints them in.
func Sort(recs []Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := &recs[i], &recs[j]
		for _, p := range [][2]string{{a.Date, b.Date}, {a.Tool, b.Tool}, {a.Target, b.Target}, {a.Attack, b.Attack}, {a.Detector, b.Detector}, {a.Strategy, b.Strategy}, {a.ID, b.ID}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return false
	})
}

// Merge appends the incoming records whose id is not already present; a
// result imported twice is kept once.
func Merge(existing, incoming []Record) (all, added, skipped []Record) {
	have := make(map[string]bool, len(existing))
	for i := range existing {
		have[existing[i].ID] = true
	}
	all = append([]Record(nil), existing...)
	for _, r := range incoming {
		if have[r.ID] {
			skipped = append(skipped, r)
			continue
		}
		have[r.ID] = true
		r.Line = 0
		all = append(all, r)
		added = append(added, r)
	}
	return all, added, skipped
}

// Defaults for judging evidence; docs/evidence.md explains the choice.
const (
	// DefaultConfirmRate is the attack success rate at or above which a
	// result confirms a threat.
	DefaultConfirmRate = 0.1
	// DefaultVerifyAttempts is the sample size a result below the rate
	// needs before it verifies the controls on the threat.
	DefaultVerifyAttempts = 100
	// DefaultMaxAge is the age in days after which a result is stale.
	DefaultMaxAge = 90
)

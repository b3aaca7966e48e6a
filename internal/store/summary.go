package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// The RMF functions a summary keeps a column for.
var rmfFunctions = []string{"GOVERN", "MAP", "MEASURE", "MANAGE"}

// Severity ranks, for "at least this severity" filters and the highest
// open severity; an unknown or empty severity ranks 0.
var severityRank = map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4}

// Severities lists the residual severities, strongest first.
var Severities = []string{"critical", "high", "medium", "low"}

// summaryColumns are the columns systems and versions share, in the
// order summaryArgs and scanSummary use.
const summaryColumns = "threats, open_critical, open_high, open_medium, open_low, risk_score, " +
	"max_severity, severity_rank, verdict, policy, threat_set, stale, reviewed_at, evidence_at, " +
	"rmf_govern, rmf_map, rmf_measure, rmf_manage"

const summaryCount = 18

// prefixed returns a column list with each column qualified by alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

func summaryArgs(s *Summary) []any {
	args := []any{
		s.Threats, s.OpenCritical, s.OpenHigh, s.OpenMedium, s.OpenLow, s.RiskScore,
		s.MaxSeverity, severityRank[strings.ToLower(s.MaxSeverity)], s.Verdict, s.Policy, s.ThreatSet,
		boolInt(s.Stale), s.ReviewedAt, s.EvidenceAt,
	}
	for _, f := range rmfFunctions {
		v, ok := s.RMF[f]
		args = append(args, sql.NullFloat64{Float64: v, Valid: ok})
	}
	return args
}

// summaryScan receives the summary columns of one row.
type summaryScan struct {
	s     Summary
	rank  int
	stale int
	rmf   [4]sql.NullFloat64
}

func (x *summaryScan) dest() []any {
	s := &x.s
	return []any{
		&s.Threats, &s.OpenCritical, &s.OpenHigh, &s.OpenMedium, &s.OpenLow, &s.RiskScore,
		&s.MaxSeverity, &x.rank, &s.Verdict, &s.Policy, &s.ThreatSet, &x.stale, &s.ReviewedAt, &s.EvidenceAt,
		&x.rmf[0], &x.rmf[1], &x.rmf[2], &x.rmf[3],
	}
}

func (x *summaryScan) summary() Summary {
	s := x.s
	s.Stale = x.stale != 0
	for i, f := range rmfFunctions {
		if x.rmf[i].Valid {
			if s.RMF == nil {
				s.RMF = make(map[string]float64, len(rmfFunctions))
			}
			s.RMF[f] = x.rmf[i].Float64
		}
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonList encodes a string list for a TEXT column; nil becomes [].
func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	// Strings json.Marshal writes as they are (printable ASCII that needs
	// no escape) are quoted here; the rest goes through json.Marshal.
	n := 1
	for _, s := range l {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				n = -1
				break
			}
		}
		if n < 0 {
			break
		}
		n += len(s) + 3
	}
	if n > 0 {
		var b strings.Builder
		b.Grow(n)
		b.WriteByte('[')
		for i, s := range l {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('"')
			b.WriteString(s)
			b.WriteByte('"')
		}
		b.WriteByte(']')
		return b.String()
	}
	b, err := json.Marshal(l)
	if err != nil { // cannot happen for []string
		panic(err)
	}
	return string(b)
}

func parseList(col, text string) ([]string, error) {
	if text == "" || text == "[]" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(text), &l); err != nil {
		return nil, fmt.Errorf("store: column %s holds invalid JSON: %w", col, err)
	}
	return l, nil
}

// placeholders returns "(?, ?, …)" rows for a multi-row insert.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

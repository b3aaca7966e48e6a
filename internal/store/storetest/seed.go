package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
)

// Techniques the seeded threats use: ATLAS ids with and without
// sub-techniques.
var Techniques = []string{
	"AML.T0051.000", "AML.T0051.001", "AML.T0054", "AML.T0043.000", "AML.T0043.001", "AML.T0043.002",
	"AML.T0010.001", "AML.T0010.002", "AML.T0020", "AML.T0024.000", "AML.T0024.001", "AML.T0029",
	"AML.T0040", "AML.T0048.000", "AML.T0056", "AML.T0057", "AML.T0018.000", "AML.T0015",
}

var (
	seedCriticality = []string{"critical", "high", "high", "medium", "medium", "medium", "low"}
	seedSeverity    = []string{"critical", "high", "high", "medium", "medium", "medium", "low", "low"}
	seedPlatforms   = []string{"aws", "azure", "gcp", "k8s", "on-prem", "databricks", "sagemaker"}
	seedElements    = []string{"llm", "vector-store", "training-pipeline", "feature-store", "api-gateway", "agent", "dataset"}
	seedScore       = map[string]int{"critical": 20, "high": 12, "medium": 6, "low": 2}
)

// Seed fills s with systems systems of versions versions each, with
// varied but deterministic owners, criticalities, platforms, threats
// (10–20 per system, ATLAS techniques, lifecycles with mitigations,
// acceptances and reopenings), escalations and some board decisions. The
// versions spread over the 180 days before now. It writes through
// store.Loader when s has it (seconds for 10,000 × 20), else through
// Push, in time order. s should hold no system named like the seeded ones ("sys-00042").
func Seed(ctx context.Context, s store.Store, systems, versions int) error {
	return SeedUntil(ctx, s, systems, versions, time.Now().UTC().Truncate(time.Minute))
}

// SeedUntil is Seed with the history ending at end rather than now.
func SeedUntil(ctx context.Context, s store.Store, systems, versions int, end time.Time) error {
	if systems < 0 || versions < 1 {
		return fmt.Errorf("storetest: seed %d systems × %d versions", systems, versions)
	}
	start := end.Add(-180 * 24 * time.Hour)
	const perBatch = 500
	next := 0
	batch := func() ([]*store.Push, error) {
		if next >= systems {
			return nil, nil
		}
		var out []*store.Push
		for ; next < systems && len(out) < perBatch*versions; next++ {
			out = append(out, History(next, versions, start, end)...)
		}
		return out, nil
	}
	if l, ok := s.(store.Loader); ok {
		if err := l.Load(ctx, batch); err != nil {
			return err
		}
	} else {
		// In time order, as a server would receive them, so that the
		// daily trend points are the portfolio at each day's end.
		var all []*store.Push
		for {
			b, err := batch()
			if err != nil {
				return err
			}
			if b == nil {
				break
			}
			all = append(all, b...)
		}
		slices.SortStableFunc(all, func(a, b *store.Push) int { return a.At.Compare(b.At) })
		for _, p := range all {
			if _, err := s.Push(ctx, p); err != nil {
				return err
			}
		}
	}
	// The board has decided on some escalations.
	for i := 0; i < systems; i += 7 {
		sys, err := s.System(ctx, SystemID(i))
		if err != nil {
			return err
		}
		if sys.Summary.Verdict != "escalate" {
			continue
		}
		d := &store.Decision{System: sys.ID, Version: sys.Latest, ThreatSet: sys.Summary.ThreatSet,
			Decision: "approved", By: "board", TokenID: "tok-board", At: sys.UpdatedAt.Add(time.Hour),
			Until: sys.UpdatedAt.AddDate(0, 3, 0).Format("2006-01-02"), Conditions: []string{"monitor prompt-injection alerts"}}
		if err := s.Decide(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// SystemID is the id Seed gives its i-th system.
func SystemID(i int) string { return fmt.Sprintf("sys-%05d", i) }

type seedThreat struct {
	store.Threat
	appear, resolve, accept int // version numbers (1-based); 0 = never
	vanish                  bool
}

// History returns the pushes Seed makes for its i-th system: versions
// pushes spread between start and end, deterministic in i. Load tests use
// it to make realistic pushes.
func History(i, versions int, start, end time.Time) []*store.Push {
	r := rand.New(rand.NewPCG(uint64(i), 0x6d6c746872656174))
	id := SystemID(i)
	owner := fmt.Sprintf("team-%02d", r.IntN(40))
	crit := seedCriticality[r.IntN(len(seedCriticality))]
	platforms := []string{seedPlatforms[r.IntN(len(seedPlatforms))]}
	if r.IntN(3) == 0 {
		if p := seedPlatforms[r.IntN(len(seedPlatforms))]; p != platforms[0] {
			platforms = append(platforms, p)
		}
	}
	n := 10 + r.IntN(11)
	threats := make([]seedThreat, n)
	for k := range threats {
		sev := seedSeverity[r.IntN(len(seedSeverity))]
		residual := sev
		if r.IntN(3) == 0 {
			residual = seedSeverity[min(len(seedSeverity)-1, slices.Index(seedSeverity, sev)+2)]
		}
		tech := Techniques[r.IntN(len(Techniques))]
		var related []string
		for range r.IntN(3) {
			if t := Techniques[r.IntN(len(Techniques))]; t != tech && !slices.Contains(related, t) {
				related = append(related, t)
			}
		}
		st := seedThreat{Threat: store.Threat{
			ID:    fmt.Sprintf("TH-%s-%02d", tech[4:9], k),
			Rule:  fmt.Sprintf("R%03d", r.IntN(120)),
			Title: "Threat " + tech + " on " + seedElements[k%len(seedElements)], Element: seedElements[r.IntN(len(seedElements))],
			Technique: tech, Related: related, Tactics: []string{"AML.TA0002", "AML.TA0011"}[:1+r.IntN(2)],
			Severity: sev, Residual: residual, ResidualScore: seedScore[residual],
		}}
		st.appear = 1
		if k >= 8 {
			st.appear = 1 + r.IntN(versions)
		}
		switch x := r.IntN(10); {
		case x < 4: // mitigated later
			st.resolve = st.appear + 1 + r.IntN(max(1, versions))
		case x == 4: // accepted
			st.accept = st.appear + r.IntN(max(1, versions-st.appear+1))
		case x == 5:
			st.vanish = true
			st.resolve = st.appear + 1 + r.IntN(max(1, versions))
		}
		threats[k] = st
	}
	span := end.Sub(start)
	offset := time.Duration(r.Int64N(int64(span / time.Duration(versions+1))))
	step := (span - offset) / time.Duration(versions+1)
	out := make([]*store.Push, 0, versions)
	for v := 1; v <= versions; v++ {
		at := start.Add(offset + time.Duration(v)*step).Truncate(time.Millisecond)
		p := &store.Push{
			System: id, Name: fmt.Sprintf("System %05d", i), Owner: owner, Criticality: crit,
			Platforms: platforms, Tags: []string{"llm"},
			At: at, TokenID: "tok-ci-" + owner, By: "ci-" + owner, File: "threatmodel/" + id + ".yaml", ToolVersion: "0.9.0",
		}
		var open []string
		s := &p.Summary
		for _, st := range threats {
			if v < st.appear || (st.vanish && v >= st.resolve) {
				continue
			}
			t := st.Threat
			t.Status = "open"
			switch {
			case st.resolve > 0 && v >= st.resolve:
				t.Status = "mitigated"
			case st.accept > 0 && v >= st.accept:
				t.Status = "accepted"
				t.Until = at.AddDate(0, 0, 20+int(uint(i*7+v)%100)).Format("2006-01-02")
			case v > st.appear && (i+v)%3 == 0:
				t.Status = "in-progress"
			}
			p.Threats = append(p.Threats, t)
			s.Threats++
			if t.Status != "open" && t.Status != "in-progress" {
				continue
			}
			open = append(open, t.ID)
			switch t.Residual {
			case "critical":
				s.OpenCritical++
			case "high":
				s.OpenHigh++
			case "medium":
				s.OpenMedium++
			default:
				s.OpenLow++
			}
			s.RiskScore += t.ResidualScore
		}
		for _, sev := range store.Severities {
			if (sev == "critical" && s.OpenCritical > 0) || (sev == "high" && s.OpenHigh > 0) ||
				(sev == "medium" && s.OpenMedium > 0) || (sev == "low" && s.OpenLow > 0) {
				s.MaxSeverity = sev
				break
			}
		}
		h := sha256.Sum256([]byte(strings.Join(open, ",")))
		s.ThreatSet = hex.EncodeToString(h[:8])
		s.Policy = "default"
		switch {
		case s.OpenCritical > 0 && (i+v)%8 == 0:
			s.Verdict = "escalate"
		case s.OpenCritical > 0 || s.OpenHigh > 2:
			s.Verdict = "fail"
		default:
			s.Verdict = "pass"
		}
		s.Stale = r.IntN(10) == 0
		s.ReviewedAt = at.AddDate(0, 0, -r.IntN(120)).Format("2006-01-02")
		if r.IntN(5) < 3 {
			s.EvidenceAt = at.AddDate(0, 0, -r.IntN(60)).Format("2006-01-02")
		}
		s.RMF = map[string]float64{
			"GOVERN": float64(r.IntN(101)) / 100, "MAP": float64(r.IntN(101)) / 100,
			"MEASURE": float64(r.IntN(101)) / 100, "MANAGE": float64(r.IntN(101)) / 100,
		}
		p.Model = fmt.Appendf(nil, "# generated\nsystem:\n  id: %s\n  name: System %05d\n  owner: %s\n  criticality: %s\nversion: %d\nthreats: %d\n",
			id, i, owner, crit, v, len(p.Threats))
		p.Analysis = fmt.Appendf(nil, `{"system":{"id":%q},"version":%d,"threat_set":%q,"open":%d}`, id, v, s.ThreatSet, len(open))
		p.Gate = fmt.Appendf(nil, `{"verdict":%q,"policy":"default"}`, s.Verdict)
		out = append(out, p)
	}
	return out
}

package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dropBenchStores()
	if err := storetest.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = max(code, 1)
	}
	os.Exit(code)
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// each runs fn as a subtest over every dialect, in parallel.
func each(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.Open(t, d))
		})
	}
}

func mkPush(system string, at time.Time, model string, threats ...store.Threat) *store.Push {
	p := &store.Push{
		System: system, Name: "System " + system, Owner: "team-a", Criticality: "high",
		Platforms: []string{"aws"}, Tags: []string{"llm"},
		At: at, TokenID: "tok1", By: "ci", File: "models/" + system + ".yaml", ToolVersion: "1.0.0",
		Model: []byte(model), Analysis: []byte(`{"threats":[]}`),
		Threats: threats,
	}
	p.Summary.Threats = len(threats)
	return p
}

func mustPush(t *testing.T, s store.Store, p *store.Push) *store.PushResult {
	t.Helper()
	r, err := s.Push(context.Background(), p)
	if err != nil {
		t.Fatalf("push %s: %v", p.System, err)
	}
	return r
}

func th(id, status string) store.Threat {
	return store.Threat{ID: id, Rule: "R-" + id, Title: "Threat " + id, Element: "llm", Technique: "AML.T0051",
		Severity: "high", Residual: "high", ResidualScore: 12, Status: status}
}

func TestPushNumbering(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		r1 := mustPush(t, s, mkPush("sys", t0, "model: 1", th("T1", "open")))
		if r1.Version != 1 || r1.Unchanged || !r1.At.Equal(t0) {
			t.Fatalf("first push = %+v", r1)
		}
		p2 := mkPush("sys", t0.Add(time.Hour), "model: 2", th("T1", "open"))
		p2.Owner, p2.Name = "team-b", "Renamed"
		if r := mustPush(t, s, p2); r.Version != 2 || r.Unchanged {
			t.Fatalf("second push = %+v", r)
		}
		// Same files and verdict: nothing written, the latest returned.
		r := mustPush(t, s, mkPush("sys", t0.Add(2*time.Hour), "model: 2", th("T1", "mitigated")))
		if r.Version != 2 || !r.Unchanged || !r.At.Equal(t0.Add(time.Hour)) {
			t.Fatalf("unchanged push = %+v", r)
		}
		// A different verdict is a change even with the same files.
		p3 := mkPush("sys", t0.Add(3*time.Hour), "model: 2", th("T1", "open"))
		p3.Summary.Verdict = "fail"
		if r := mustPush(t, s, p3); r.Version != 3 || r.Unchanged {
			t.Fatalf("verdict change = %+v", r)
		}
		// Optimistic concurrency.
		p := mkPush("sys", t0.Add(4*time.Hour), "model: 4")
		p.BaseVersion = 2
		if _, err := s.Push(ctx, p); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale base version: err = %v, want ErrConflict", err)
		}
		p.BaseVersion = 3
		if r := mustPush(t, s, p); r.Version != 4 {
			t.Fatalf("base version 3 push = %+v", r)
		}
		q := mkPush("other", t0, "x")
		q.BaseVersion = 1
		if _, err := s.Push(ctx, q); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("base version on a new system: err = %v, want ErrConflict", err)
		}
		if _, err := s.System(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a refused push created the system: %v", err)
		}

		sys, err := s.System(ctx, "sys")
		if err != nil {
			t.Fatal(err)
		}
		if sys.Latest != 4 || sys.Owner != "team-a" || sys.Name != "System sys" || !sys.CreatedAt.Equal(t0) ||
			!sys.UpdatedAt.Equal(t0.Add(4*time.Hour)) || !slices.Equal(sys.Platforms, []string{"aws"}) {
			t.Fatalf("system = %+v", sys)
		}
		vs, err := s.Versions(ctx, "sys")
		if err != nil {
			t.Fatal(err)
		}
		var nums []int
		for _, v := range vs {
			nums = append(nums, v.Version)
		}
		if !slices.Equal(nums, []int{4, 3, 2, 1}) {
			t.Fatalf("versions = %v, want 4 3 2 1", nums)
		}
		v2, err := s.Version(ctx, "sys", 2)
		if err != nil {
			t.Fatal(err)
		}
		if v2.By != "ci" || v2.TokenID != "tok1" || v2.File != "models/sys.yaml" || v2.Model != v2.ModelDigest || v2.Gap != "" {
			t.Fatalf("version 2 = %+v", v2)
		}
		b, err := s.Blob(ctx, v2.Model)
		if err != nil || string(b) != "model: 2" {
			t.Fatalf("blob = %q, %v", b, err)
		}
		if _, err := s.Blob(ctx, "00"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing blob: %v", err)
		}
		if _, err := s.Version(ctx, "sys", 9); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing version: %v", err)
		}
		if _, err := s.Versions(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("versions of a missing system: %v", err)
		}
		entries, err := s.Audit(ctx, store.AuditFilter{Action: "push"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 4 {
			t.Fatalf("%d push audit entries, want 4", len(entries))
		}
		var detail struct {
			Version int    `json:"version"`
			Verdict string `json:"verdict"`
			Threats int    `json:"threats"`
		}
		if err := json.Unmarshal([]byte(entries[1].Detail), &detail); err != nil {
			t.Fatal(err)
		}
		if detail.Version != 3 || detail.Verdict != "fail" || detail.Threats != 1 || entries[1].Actor != "ci" || entries[1].System != "sys" {
			t.Fatalf("audit entry = %+v (%+v)", entries[1], detail)
		}
	})
}

func TestPushRejects(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		for name, p := range map[string]*store.Push{
			"no system":      mkPush("", t0, "m"),
			"duplicate id":   mkPush("s", t0, "m", th("T1", "open"), th("T1", "open")),
			"empty id":       mkPush("s", t0, "m", th("", "open")),
			"unknown status": mkPush("s", t0, "m", th("T1", "done")),
		} {
			if _, err := s.Push(ctx, p); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", name, err)
			}
		}
	})
}

func TestConcurrentPushes(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				threats := []store.Threat{th("T0", "open"), th(fmt.Sprintf("T%d", i+1), "open")}
				_, err := s.Push(ctx, mkPush("busy", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("model: %d", i), threats...))
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		vs, err := s.Versions(ctx, "busy")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != n {
			t.Fatalf("%d versions, want %d", len(vs), n)
		}
		for i, v := range vs {
			if v.Version != n-i {
				t.Fatalf("version %d at position %d: numbering has a gap or duplicate", v.Version, i)
			}
		}
		sys, err := s.System(ctx, "busy")
		if err != nil || sys.Latest != n {
			t.Fatalf("latest = %v, %v", sys, err)
		}
		ts, err := s.Threats(ctx, "busy")
		if err != nil {
			t.Fatal(err)
		}
		open := 0
		for _, x := range ts {
			if x.ResolvedAt.IsZero() {
				open++
			}
		}
		// T0 and the last push's own threat are open; 19 others resolved.
		if len(ts) != n+1 || open != 2 {
			t.Fatalf("%d threats, %d open; want %d and 2", len(ts), open, n+1)
		}
		k, err := s.KPIs(ctx, t0.Add(time.Hour), store.Windows{})
		if err != nil {
			t.Fatal(err)
		}
		if k.Systems != 1 || k.Mitigated != n-1 {
			t.Fatalf("KPIs after concurrent pushes: systems %d, mitigated %d", k.Systems, k.Mitigated)
		}
	})
}

func TestConcurrentSystems(t *testing.T) {
	// Pushes to different systems at once keep the running totals right.
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := mkPush(fmt.Sprintf("s%02d", i%10), t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("m%d", i))
				p.Summary.OpenCritical = i % 3
				p.Summary.OpenHigh = 1
				p.Owner = fmt.Sprint("team-", i%4) // systems move between owners
				p.Summary.RMF = map[string]float64{"GOVERN": float64(i%5) / 4, "MAP": 0.1}
				if i%3 == 0 {
					delete(p.Summary.RMF, "MAP")
				}
				_, err := s.Push(ctx, p)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		checkTotals(t, s)
	})
}

// checkTotals compares the running totals the trend shows with the
// systems' rows.
func checkTotals(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	systems, total, err := s.ListSystems(ctx, store.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var crit, high, esc int
	for _, sys := range systems {
		crit += sys.Summary.OpenCritical
		high += sys.Summary.OpenHigh
		if sys.Summary.Verdict == "escalate" {
			esc++
		}
	}
	// The per-owner running totals against the same sums.
	owners := map[string]store.OwnerRisk{}
	rmfSum, rmfN := map[string]float64{}, map[string]int{}
	for _, sys := range systems {
		o := owners[sys.Owner]
		o.Owner = sys.Owner
		o.Systems++
		o.Critical += sys.Summary.OpenCritical
		o.High += sys.Summary.OpenHigh
		owners[sys.Owner] = o
		for f, v := range sys.Summary.RMF {
			rmfSum[f] += v
			rmfN[f]++
		}
	}
	k, err := s.KPIs(ctx, time.Now(), store.Windows{})
	if err != nil {
		t.Fatal(err)
	}
	if len(k.PerOwner) != len(owners) || k.Systems != total || k.OpenCritical != crit || k.OpenHigh != high {
		t.Fatalf("KPIs %d owners, %d systems, %d critical, %d high; systems say %d, %d, %d, %d",
			len(k.PerOwner), k.Systems, k.OpenCritical, k.OpenHigh, len(owners), total, crit, high)
	}
	for _, o := range k.PerOwner {
		if owners[o.Owner] != o {
			t.Fatalf("owner totals %+v; systems say %+v", o, owners[o.Owner])
		}
	}
	for f, n := range rmfN {
		if want := rmfSum[f] / float64(n); math.Abs(k.RMF[f]-want) > 1e-6 {
			t.Fatalf("RMF %s mean %v; systems say %v", f, k.RMF[f], want)
		}
	}
	trend, err := s.Trend(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(trend) == 0 {
		t.Fatal("no trend")
	}
	last := trend[len(trend)-1]
	if last.Systems != total || last.OpenCritical != crit || last.OpenHigh != high || last.Escalated != esc {
		t.Fatalf("trend's last point %+v; systems say %d systems, %d critical, %d high, %d escalated", last, total, crit, high, esc)
	}
}

func TestLifecycle(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
		// v1: A, B, D open; C arrives mitigated (resolved, never measured).
		mustPush(t, s, mkPush("lc", h(0), "v1", th("A", "open"), th("B", "open"), th("C", "mitigated"), th("D", "open")))
		// v2: A mitigated (10 h); D gone (10 h); E new.
		mustPush(t, s, mkPush("lc", h(10), "v2", th("A", "mitigated"), th("B", "in-progress"), th("C", "mitigated"), th("E", "open")))
		// v3: A open again (its 10 h no longer counts); B a false positive (30 h).
		mustPush(t, s, mkPush("lc", h(30), "v3", th("A", "open"), th("B", "false-positive"), th("E", "accepted")))
		// v4: A gone (40 h from its first sighting); E mitigated (30 h).
		mustPush(t, s, mkPush("lc", h(40), "v4", th("B", "false-positive"), th("E", "mitigated"), th("F", "open")))

		ts, err := s.Threats(ctx, "lc")
		if err != nil {
			t.Fatal(err)
		}
		type want struct {
			first, resolved time.Time
			fv, lv          int
			status          string
		}
		wants := map[string]want{
			"A": {h(0), h(40), 1, 3, "open"},
			"B": {h(0), h(30), 1, 4, "false-positive"},
			"C": {h(0), h(0), 1, 2, "mitigated"},
			"D": {h(0), h(10), 1, 1, "open"},
			"E": {h(10), h(40), 2, 4, "mitigated"},
			"F": {h(40), time.Time{}, 4, 4, "open"},
		}
		if len(ts) != len(wants) {
			t.Fatalf("%d threats, want %d", len(ts), len(wants))
		}
		for _, x := range ts {
			w := wants[x.ID]
			if !x.FirstSeen.Equal(w.first) || !x.ResolvedAt.Equal(w.resolved) || x.FirstVersion != w.fv || x.LastVersion != w.lv || x.Status != w.status {
				t.Errorf("threat %s: first %v resolved %v versions %d..%d status %s; want %+v",
					x.ID, x.FirstSeen, x.ResolvedAt, x.FirstVersion, x.LastVersion, x.Status, w)
			}
		}
		// Measured: D 10, B 30, A 40, E 30 → mean 27.5, nearest-rank p90 = 40.
		k, err := s.KPIs(ctx, h(41), store.Windows{})
		if err != nil {
			t.Fatal(err)
		}
		if k.Mitigated != 4 || k.MeanTimeToMitigate != 27.5 || k.P90TimeToMitigate != 40 {
			t.Fatalf("MTTM: %d measured, mean %v, p90 %v; want 4, 27.5, 40", k.Mitigated, k.MeanTimeToMitigate, k.P90TimeToMitigate)
		}
	})
}

func TestPercentile(t *testing.T) {
	// Ten threats resolved after 1..10 hours: p90 (nearest rank) = 9 h.
	each(t, func(t *testing.T, s store.Store) {
		for i := 1; i <= 10; i++ {
			sys := fmt.Sprintf("p%02d", i)
			mustPush(t, s, mkPush(sys, t0, "a", th("X", "open")))
			mustPush(t, s, mkPush(sys, t0.Add(time.Duration(i)*time.Hour), "b", th("X", "mitigated")))
		}
		k, err := s.KPIs(context.Background(), t0.Add(24*time.Hour), store.Windows{})
		if err != nil {
			t.Fatal(err)
		}
		if k.Mitigated != 10 || k.MeanTimeToMitigate != 5.5 || k.P90TimeToMitigate != 9 {
			t.Fatalf("%d measured, mean %v, p90 %v; want 10, 5.5, 9", k.Mitigated, k.MeanTimeToMitigate, k.P90TimeToMitigate)
		}
	})
}

func TestKPIs(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		now := time.Date(2025, 9, 30, 15, 0, 0, 0, time.UTC)
		day := func(d int) string { return now.AddDate(0, 0, d).Format("2006-01-02") }
		accepted := func(id, until string) store.Threat {
			x := th(id, "accepted")
			x.Until = until
			return x
		}

		p1 := mkPush("s1", now.Add(-72*time.Hour), "s1", accepted("X1", day(10)), accepted("X2", day(40)), accepted("X3", day(-1)))
		p1.Owner = "ml"
		p1.Summary = store.Summary{OpenCritical: 2, OpenHigh: 1, ReviewedAt: day(-10), EvidenceAt: day(-5), Verdict: "pass",
			RMF: map[string]float64{"GOVERN": 0.5, "MAP": 1}}
		mustPush(t, s, p1)

		p2 := mkPush("s2", now.Add(-48*time.Hour), "s2", accepted("Y1", day(0)))
		p2.Owner = "ml"
		p2.Summary = store.Summary{OpenHigh: 3, ReviewedAt: day(-100), EvidenceAt: day(-100), Verdict: "escalate", ThreatSet: "ts2",
			RMF: map[string]float64{"GOVERN": 1}}
		mustPush(t, s, p2)

		p3 := mkPush("s3", now.Add(-24*time.Hour), "s3")
		p3.Owner = "data"
		p3.Summary = store.Summary{OpenCritical: 1, ReviewedAt: day(-1), Stale: true, Verdict: "escalate", ThreatSet: "ts3"}
		mustPush(t, s, p3)
		if err := s.Decide(ctx, &store.Decision{System: "s3", Version: 1, ThreatSet: "ts3", Decision: "approved", By: "board"}); err != nil {
			t.Fatal(err)
		}

		p4 := mkPush("s4", now.Add(-12*time.Hour), "s4")
		p4.Owner = "web"
		p4.Summary = store.Summary{ReviewedAt: day(-90), Verdict: "escalate", ThreatSet: "ts4"}
		mustPush(t, s, p4)

		k, err := s.KPIs(ctx, now, store.Windows{Review: 90 * 24 * time.Hour, Evidence: 90 * 24 * time.Hour, Expiring: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		want := &store.KPIs{
			At: now, Systems: 4,
			UpToDate: 2, UpToDatePct: 50, // s1, and s4 on the window's first day; s2 too old, s3 stale
			OpenCritical: 3, OpenHigh: 4,
			PerOwner: []store.OwnerRisk{
				{Owner: "ml", Systems: 2, Critical: 2, High: 4},
				{Owner: "data", Systems: 1, Critical: 1},
				{Owner: "web", Systems: 1},
			},
			RMF:              map[string]float64{"GOVERN": 0.75, "MAP": 1},
			AcceptedExpiring: 2, // X1 (in 10 days), Y1 (today); not X2 (40 days) nor X3 (expired)
			FreshEvidence:    1, FreshEvidencePct: 25,
			EscalationsWaiting: 2, OldestEscalationAge: 48, MeanEscalationAge: 30, // s2 and s4; s3 decided
		}
		got, _ := json.Marshal(k)
		exp, _ := json.Marshal(want)
		if !bytes.Equal(got, exp) {
			t.Fatalf("KPIs\n got %s\nwant %s", got, exp)
		}

		heat, err := s.HeatMap(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(heat) != 1 || heat[0] != (store.HeatCell{Criticality: "high", Severity: "", Systems: 4}) {
			t.Fatalf("heat map = %+v", heat)
		}
		empty := storetest.Open(t, s.Dialect())
		k0, err := empty.KPIs(ctx, now, store.Windows{})
		if err != nil || k0.Systems != 0 || k0.UpToDatePct != 0 || k0.EscalationsWaiting != 0 {
			t.Fatalf("empty portfolio KPIs = %+v, %v", k0, err)
		}
	})
}

func TestListSystems(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		type sys struct {
			id, owner, crit, sev, verdict string
			platforms                     []string
			risk                          int
			stale                         bool
		}
		for i, x := range []sys{
			{"alpha-chat", "ml", "high", "critical", "escalate", []string{"aws", "k8s"}, 90, false},
			{"beta_rank", "ml", "low", "medium", "pass", []string{"gcp"}, 20, true},
			{"gamma-100%", "data", "high", "low", "fail", []string{"aws-eu"}, 5, false},
			{"delta", "data", "medium", "", "pass", nil, 0, false},
			{"Epsilon", "web", "high", "high", "escalate", []string{"aws"}, 50, true},
		} {
			p := mkPush(x.id, t0.Add(time.Duration(i)*time.Hour), x.id)
			p.Owner, p.Criticality, p.Platforms, p.Name = x.owner, x.crit, x.platforms, "Name "+x.id
			p.Summary = store.Summary{MaxSeverity: x.sev, Verdict: x.verdict, RiskScore: x.risk, Stale: x.stale}
			mustPush(t, s, p)
		}
		yes, no := true, false
		for _, c := range []struct {
			name  string
			f     store.Filter
			want  []string
			total int
		}{
			{"default sort is risk", store.Filter{}, []string{"alpha-chat", "Epsilon", "beta_rank", "gamma-100%", "delta"}, 5},
			{"name", store.Filter{Sort: "name"}, []string{"Name Epsilon", "Name alpha-chat", "Name beta_rank", "Name delta", "Name gamma-100%"}, 5},
			{"updated", store.Filter{Sort: "updated", Limit: 2}, []string{"Epsilon", "delta"}, 5},
			{"page", store.Filter{Limit: 2, Offset: 2}, []string{"beta_rank", "gamma-100%"}, 5},
			{"past the end", store.Filter{Offset: 9}, nil, 5},
			{"query is case-insensitive", store.Filter{Query: "EPS"}, []string{"Epsilon"}, 1},
			{"query matches the name", store.Filter{Query: "name d"}, []string{"delta"}, 1},
			{"query % is literal", store.Filter{Query: "0%"}, []string{"gamma-100%"}, 1},
			{"query _ is literal", store.Filter{Query: "a_r"}, []string{"beta_rank"}, 1},
			{"owner", store.Filter{Owner: "data"}, []string{"gamma-100%", "delta"}, 2},
			{"criticality", store.Filter{Criticality: "high"}, []string{"alpha-chat", "Epsilon", "gamma-100%"}, 3},
			{"platform is exact", store.Filter{Platform: "aws"}, []string{"alpha-chat", "Epsilon"}, 2},
			{"severity at least high", store.Filter{Severity: "high"}, []string{"alpha-chat", "Epsilon"}, 2},
			{"severity at least medium", store.Filter{Severity: "medium"}, []string{"alpha-chat", "Epsilon", "beta_rank"}, 3},
			{"verdict", store.Filter{Verdict: "escalate"}, []string{"alpha-chat", "Epsilon"}, 2},
			{"stale", store.Filter{Stale: &yes}, []string{"Epsilon", "beta_rank"}, 2},
			{"not stale", store.Filter{Stale: &no, Owner: "ml"}, []string{"alpha-chat"}, 1},
			{"nothing", store.Filter{Owner: "nobody"}, nil, 0},
		} {
			got, total, err := s.ListSystems(ctx, c.f)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var ids []string
			for _, x := range got {
				if c.f.Sort == "name" {
					ids = append(ids, x.Name)
				} else {
					ids = append(ids, x.ID)
				}
			}
			if !slices.Equal(ids, c.want) || total != c.total {
				t.Errorf("%s: got %v (total %d), want %v (total %d)", c.name, ids, total, c.want, c.total)
			}
		}
		for _, f := range []store.Filter{{Severity: "severe"}, {Sort: "owner"}} {
			if _, _, err := s.ListSystems(ctx, f); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("filter %+v: err = %v, want ErrInvalid", f, err)
			}
		}
		// Platforms can change.
		p := mkPush("delta", t0.Add(10*time.Hour), "delta v2")
		p.Owner, p.Criticality, p.Platforms = "data", "medium", []string{"aws"}
		mustPush(t, s, p)
		got, _, err := s.ListSystems(ctx, store.Filter{Platform: "aws", Sort: "name"})
		if err != nil || len(got) != 3 {
			t.Fatalf("after a platform change: %d systems, %v", len(got), err)
		}
	})
}

func TestExposed(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		tech := func(id, technique string, related ...string) store.Threat {
			x := th(id, "open")
			x.Technique, x.Related = technique, related
			return x
		}
		mustPush(t, s, mkPush("a", t0, "a",
			tech("A1", "AML.T0051.001"),
			tech("A2", "AML.T0054", "AML.T0051", "AML.T0051.000"),
			tech("A3", "AML.T0010")))
		mustPush(t, s, mkPush("b", t0, "b", tech("B1", "AML.T0051")))
		mitigated := tech("C1", "AML.T0051.002")
		mitigated.Status = "mitigated"
		mustPush(t, s, mkPush("c", t0, "c", mitigated, tech("C2", "AML.T00510")))
		// d's only exposure disappears in its second version.
		mustPush(t, s, mkPush("d", t0, "d1", tech("D1", "AML.T0051")))
		mustPush(t, s, mkPush("d", t0.Add(time.Hour), "d2", tech("D2", "AML.T0043")))

		key := func(es []store.Exposure) []string {
			var out []string
			for _, e := range es {
				out = append(out, e.System+"/"+e.Threat)
			}
			return out
		}
		for _, c := range []struct {
			technique string
			sub       bool
			want      []string
		}{
			{"AML.T0051", false, []string{"a/A2", "b/B1"}},
			{"AML.T0051", true, []string{"a/A1", "a/A2", "b/B1"}},
			{"AML.T0051.001", false, []string{"a/A1"}},
			{"AML.T0051.001", true, []string{"a/A1"}},
			{"AML.T005", true, nil},
			{"AML.T0043", false, []string{"d/D2"}},
		} {
			got, err := s.Exposed(ctx, c.technique, c.sub)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(key(got), c.want) {
				t.Errorf("Exposed(%s, %v) = %v, want %v", c.technique, c.sub, key(got), c.want)
			}
		}
		got, _ := s.Exposed(ctx, "AML.T0043", false)
		if len(got) != 1 || got[0].Version != 2 || got[0].Owner != "team-a" || got[0].Technique != "AML.T0043" || got[0].Status != "open" {
			t.Fatalf("exposure = %+v", got)
		}
	})
}

func TestReviewQueue(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		esc := func(model, set string, at time.Time) *store.Push {
			p := mkPush("rq", at, model)
			p.By, p.TokenID = "pusher", "tokP"
			p.Summary.Verdict, p.Summary.ThreatSet = "escalate", set
			return p
		}
		queue := func() []store.QueueItem {
			t.Helper()
			q, err := s.ReviewQueue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
		mustPush(t, s, esc("m1", "set-1", t0))
		other := mkPush("calm", t0, "calm")
		other.Summary.Verdict = "pass"
		mustPush(t, s, other)
		q := queue()
		if len(q) != 1 || q[0].System.ID != "rq" || q[0].Version != 1 || !q[0].Since.Equal(t0) || q[0].PushedBy != "pusher" || q[0].ThreatSet != "set-1" {
			t.Fatalf("queue = %+v", q)
		}
		// A decision on another threat set does not cover this one.
		if err := s.Decide(ctx, &store.Decision{System: "rq", Version: 1, ThreatSet: "set-0", Decision: "rejected", By: "rev"}); err != nil {
			t.Fatal(err)
		}
		if len(queue()) != 1 {
			t.Fatal("a decision on another threat set took the system off the queue")
		}
		d := &store.Decision{System: "rq", Version: 1, ThreatSet: "set-1", Decision: "approved", By: "rev", TokenID: "tokR",
			At: t0.Add(time.Hour), Until: "2025-12-31", Conditions: []string{"rate limit", "monitoring"}, Comment: "ok"}
		if err := s.Decide(ctx, d); err != nil {
			t.Fatal(err)
		}
		if d.ID == 0 {
			t.Fatal("Decide did not set the id")
		}
		if q := queue(); len(q) != 0 {
			t.Fatalf("decided escalation still queued: %+v", q)
		}
		ds, err := s.Decisions(ctx, "rq")
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 || ds[0].ID != d.ID || !ds[0].At.Equal(t0.Add(time.Hour)) || !slices.Equal(ds[0].Conditions, d.Conditions) ||
			ds[0].Until != "2025-12-31" || ds[0].TokenID != "tokR" || ds[1].Decision != "rejected" {
			t.Fatalf("decisions = %+v", ds)
		}
		audit, err := s.Audit(ctx, store.AuditFilter{Action: "decide", System: "rq"})
		if err != nil || len(audit) != 2 || audit[0].Actor != "rev" || audit[0].TokenID != "tokR" {
			t.Fatalf("decide audit = %+v, %v", audit, err)
		}
		// A new threat set puts it back, escalated since the new push.
		mustPush(t, s, esc("m2", "set-2", t0.Add(2*time.Hour)))
		q = queue()
		if len(q) != 1 || q[0].Version != 2 || !q[0].Since.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("queue after a new threat set = %+v", q)
		}
		// Another version with the same threat set keeps the escalation's age.
		mustPush(t, s, esc("m3", "set-2", t0.Add(3*time.Hour)))
		if q = queue(); len(q) != 1 || q[0].Version != 3 || !q[0].Since.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("queue after the same threat set = %+v", q)
		}
		// A passing version clears it.
		p := mkPush("rq", t0.Add(4*time.Hour), "m4")
		p.Summary.Verdict = "pass"
		mustPush(t, s, p)
		if q = queue(); len(q) != 0 {
			t.Fatalf("queue after pass = %+v", q)
		}
		sys, _ := s.System(ctx, "rq")
		if !sys.EscalatedSince.IsZero() {
			t.Fatalf("EscalatedSince = %v after a pass", sys.EscalatedSince)
		}
		for _, bad := range []*store.Decision{
			{System: "rq", Version: 1, Decision: "maybe"},
			{System: "rq", Version: 1, Decision: "approved", Until: "31/12/2025"},
		} {
			if err := s.Decide(ctx, bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("decision %+v: err = %v, want ErrInvalid", bad, err)
			}
		}
		if err := s.Decide(ctx, &store.Decision{System: "rq", Version: 99, Decision: "approved"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("decision on a missing version: err = %v, want ErrNotFound", err)
		}
	})
}

func TestAudit(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var ids []int64
		for i := range 5 {
			action := "login"
			if i%2 == 1 {
				action = "token.create"
			}
			e := &store.AuditEntry{At: t0.Add(time.Duration(i) * time.Hour), Actor: "admin", Action: action, System: fmt.Sprint("s", i%2)}
			if err := s.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
			if e.Detail != "{}" || e.ID == 0 {
				t.Fatalf("entry = %+v", e)
			}
			ids = append(ids, e.ID)
		}
		got := func(f store.AuditFilter) []int64 {
			t.Helper()
			es, err := s.Audit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, e := range es {
				out = append(out, e.ID)
			}
			return out
		}
		if g := got(store.AuditFilter{Limit: 2}); !slices.Equal(g, []int64{ids[4], ids[3]}) {
			t.Errorf("newest two = %v", g)
		}
		if g := got(store.AuditFilter{Limit: 2, Before: ids[3]}); !slices.Equal(g, []int64{ids[2], ids[1]}) {
			t.Errorf("next page = %v", g)
		}
		if g := got(store.AuditFilter{Action: "token.create"}); !slices.Equal(g, []int64{ids[3], ids[1]}) {
			t.Errorf("by action = %v", g)
		}
		if g := got(store.AuditFilter{System: "s0", Since: t0.Add(90 * time.Minute)}); !slices.Equal(g, []int64{ids[4], ids[2]}) {
			t.Errorf("by system and time = %v", g)
		}
		if err := s.AppendAudit(ctx, &store.AuditEntry{Action: "x", Detail: "not json"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("non-JSON detail: %v", err)
		}
		// Append-only, whatever the client does.
		for _, stmt := range []string{
			"UPDATE audit SET actor = 'mallory'",
			"DELETE FROM audit WHERE id = " + fmt.Sprint(ids[0]),
			"DELETE FROM audit",
		} {
			if err := store.RawExec(ctx, s, stmt); err == nil {
				t.Errorf("%q succeeded on the audit log", stmt)
			}
		}
		if s.Dialect() == store.Postgres {
			if err := store.RawExec(ctx, s, "TRUNCATE audit"); err == nil {
				t.Error("TRUNCATE succeeded on the audit log")
			}
		}
		if n, err := store.RawInt(ctx, s, "SELECT COUNT(*) FROM audit WHERE actor = 'admin'"); err != nil || n != 5 {
			t.Errorf("audit rows after tampering: %d, %v", n, err)
		}
	})
}

func TestTokens(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		// Several instances bootstrap at once: exactly one token results.
		const n = 12
		var wg sync.WaitGroup
		results := make(chan bool, n)
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.BootstrapAdmin(ctx, &store.Token{Name: fmt.Sprint("admin-", i), Role: store.RoleAdmin, Hash: fmt.Sprintf("%064x", i+1)})
				results <- ok
				errs <- err
			}()
		}
		wg.Wait()
		close(results)
		close(errs)
		created := 0
		for ok := range results {
			if ok {
				created++
			}
		}
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		tokens, err := s.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if created != 1 || len(tokens) != 1 || tokens[0].Role != store.RoleAdmin || tokens[0].ID == "" {
			t.Fatalf("%d bootstraps reported, tokens %+v", created, tokens)
		}
		if ok, err := s.BootstrapAdmin(ctx, &store.Token{Name: "late", Hash: "ab"}); ok || err != nil {
			t.Fatalf("bootstrap with a token present: %v, %v", ok, err)
		}

		sub := &store.Token{Name: "ci", Role: store.RoleSubmitter, Owner: "ml", Hash: "cafe", CreatedBy: tokens[0].Name, CreatedAt: t0}
		if err := s.CreateToken(ctx, sub); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateToken(ctx, &store.Token{Name: "ci", Role: store.RoleViewer, Hash: "beef"}); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate name: %v", err)
		}
		if err := s.CreateToken(ctx, &store.Token{Name: "x", Role: "root", Hash: "beef"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("unknown role: %v", err)
		}
		got, err := s.TokenByHash(ctx, "cafe")
		if err != nil || got.ID != sub.ID || got.Owner != "ml" || got.Role != store.RoleSubmitter || !got.CreatedAt.Equal(t0) || got.CreatedBy != tokens[0].Name {
			t.Fatalf("token by hash = %+v, %v", got, err)
		}
		// Rate limiting counts versions pushed by the token.
		for i := range 3 {
			p := mkPush("rl", t0.Add(time.Duration(i)*time.Minute), fmt.Sprint(i))
			p.TokenID = sub.ID
			mustPush(t, s, p)
		}
		if n, err := s.PushesSince(ctx, sub.ID, t0.Add(time.Minute)); err != nil || n != 2 {
			t.Fatalf("pushes since = %d, %v", n, err)
		}
		if err := s.RevokeToken(ctx, sub.ID, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, sub.ID, t0.Add(2*time.Hour)); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if _, err := s.TokenByHash(ctx, "cafe"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked token by hash: %v", err)
		}
		byID, err := s.TokenByID(ctx, sub.ID)
		if err != nil || !byID.RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("revoked token by id = %+v, %v", byID, err)
		}
		if err := s.RevokeToken(ctx, "tok_nope", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking an unknown token: %v", err)
		}
	})
}

func TestSessions(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		tok := &store.Token{Name: "viewer", Role: store.RoleViewer, Hash: "aa"}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		x := &store.Session{Hash: "sess1", TokenID: tok.ID, CSRF: "csrf1", CreatedAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, "sess1", t0.Add(time.Hour))
		if err != nil || got.TokenID != tok.ID || got.CSRF != "csrf1" || !got.ExpiresAt.Equal(t0.Add(12*time.Hour)) {
			t.Fatalf("session = %+v, %v", got, err)
		}
		if _, err := s.Session(ctx, "sess1", t0.Add(12*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		if err := s.DeleteSession(ctx, "sess1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "sess1", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}
		if err := s.CreateSession(ctx, &store.Session{Hash: "sess2", TokenID: tok.ID, CSRF: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, tok.ID, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "sess2", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session of a revoked token: %v", err)
		}
		if err := s.CreateSession(ctx, &store.Session{Hash: "sess3", TokenID: "tok_missing", CSRF: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err == nil {
			t.Fatal("a session for a missing token was created")
		}
	})
}

func TestTrend(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		d := func(day, hour int) time.Time { return t0.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour) }
		push := func(sys string, at time.Time, crit, high int, verdict string) {
			p := mkPush(sys, at, fmt.Sprint(sys, at, crit, high, verdict))
			p.Summary.OpenCritical, p.Summary.OpenHigh, p.Summary.Verdict = crit, high, verdict
			mustPush(t, s, p)
		}
		push("a", d(0, 0), 2, 1, "escalate")
		push("b", d(0, 1), 1, 0, "pass")
		push("a", d(0, 2), 1, 1, "escalate")
		push("a", d(2, 0), 0, 3, "pass")
		push("c", d(2, 1), 0, 0, "escalate")
		tr, err := s.Trend(ctx, d(-5, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.TrendPoint{
			{Day: "2025-06-01", Systems: 2, OpenCritical: 2, OpenHigh: 1, Escalated: 1},
			{Day: "2025-06-03", Systems: 3, OpenCritical: 1, OpenHigh: 3, Escalated: 1},
		}
		if !slices.Equal(tr, want) {
			t.Fatalf("trend = %+v, want %+v", tr, want)
		}
		if tr, _ := s.Trend(ctx, d(1, 0)); len(tr) != 1 || tr[0].Day != "2025-06-03" {
			t.Fatalf("trend since day 1 = %+v", tr)
		}
		checkTotals(t, s)
	})
}

func TestBlobDedup(t *testing.T) {
	each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		big := bytes.Repeat([]byte("threat model line\n"), 10000)
		p1 := mkPush("x", t0, "same")
		p1.Analysis = big
		mustPush(t, s, p1)
		p2 := mkPush("y", t0, "same")
		p2.Analysis = big
		mustPush(t, s, p2)
		n, err := store.RawInt(ctx, s, "SELECT COUNT(*) FROM blobs")
		if err != nil || n != 2 {
			t.Fatalf("%d blobs for two distinct contents, %v", n, err)
		}
		v, _ := s.Version(ctx, "y", 1)
		b, err := s.Blob(ctx, v.Analysis)
		if err != nil || !bytes.Equal(b, big) {
			t.Fatalf("blob round trip: %d bytes, %v", len(b), err)
		}
		stored, err := store.RawInt(ctx, s, "SELECT LENGTH(data) FROM blobs WHERE digest = ?", v.Analysis)
		if err != nil || stored >= int64(len(big))/10 {
			t.Fatalf("stored %d bytes for %d (not compressed?), %v", stored, len(big), err)
		}
	})
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"mysql://u:secret@h/db", "sqlite:", "sqlite:/tmp/a?b"} {
		s, err := store.Open(ctx, dsn, store.Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if bytes.Contains([]byte(err.Error()), []byte("secret")) {
			t.Errorf("Open(%q) error leaks the password: %v", dsn, err)
		}
	}
}

func TestReopen(t *testing.T) {
	// Data survive a reopen, and a second Open of a migrated database
	// (another instance starting) is harmless.
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := storetest.DSN(t, d)
			var wg sync.WaitGroup
			stores := make([]store.Store, 4)
			errs := make([]error, 4)
			for i := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stores[i], errs[i] = store.Open(ctx, dsn, store.Options{})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("instance %d: %v", i, err)
				}
				defer stores[i].Close()
			}
			mustPush(t, stores[0], mkPush("kept", t0, "m"))
			if sys, err := stores[3].System(ctx, "kept"); err != nil || sys.Latest != 1 {
				t.Fatalf("another instance sees %+v, %v", sys, err)
			}
			if err := stores[1].Ping(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

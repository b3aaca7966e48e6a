package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

// TestMigrationsOverData builds the first schema, fills it the way a
// server of that version would have, and checks that the later migrations
// keep the data and backfill what they add (totals, trend, technique
// index).
func TestMigrationsOverData(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := storetest.DSN(t, d)
			old, err := store.Open(ctx, dsn, store.Options{MigrateTo: 1})
			if err != nil {
				t.Fatal(err)
			}
			day1, day2 := t0.UnixMilli(), t0.Add(24*time.Hour).UnixMilli()
			for _, stmt := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO systems (id, name, owner, criticality, platforms, latest, created_at, updated_at, escalated_since,
					open_critical, open_high, verdict, threat_set, max_severity, severity_rank)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					[]any{"s1", "One", "ml", "high", `["aws"]`, 2, day1, day2, day2, 1, 2, "escalate", "ts", "critical", 4}},
				{`INSERT INTO systems (id, name, owner, criticality, latest, created_at, updated_at, open_high, verdict)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					[]any{"s2", "Two", "web", "low", 1, day2, day2, 1, "pass"}},
				{`INSERT INTO system_platforms (platform, system_id) VALUES (?, ?)`, []any{"aws", "s1"}},
				{`INSERT INTO versions (system_id, version, pushed_at, open_critical, open_high, verdict) VALUES (?, ?, ?, ?, ?, ?)`,
					[]any{"s1", 1, day1, 3, 0, "fail"}},
				{`INSERT INTO versions (system_id, version, pushed_at, open_critical, open_high, verdict, threat_set) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					[]any{"s1", 2, day2, 1, 2, "escalate", "ts"}},
				{`INSERT INTO versions (system_id, version, pushed_at, open_critical, open_high, verdict) VALUES (?, ?, ?, ?, ?, ?)`,
					[]any{"s2", 1, day2 + 1000, 0, 1, "pass"}},
				{`INSERT INTO threats (system_id, threat_id, technique, related, status, first_seen, first_version, last_version)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					[]any{"s1", "T1", "AML.T0051.001", `["AML.T0054"]`, "open", day1, 1, 2}},
				{`INSERT INTO threats (system_id, threat_id, technique, status, first_seen, first_version, last_version, resolved_at, resolved_ms)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					[]any{"s1", "T2", "AML.T0051", "mitigated", day1, 1, 2, day1 + 7_200_000, 7_200_000}},
				{`INSERT INTO threats (system_id, threat_id, technique, status, first_seen, first_version, last_version)
					VALUES (?, ?, ?, ?, ?, ?, ?)`,
					[]any{"s2", "T3", "AML.T0043", "accepted", day2, 1, 1}},
			} {
				if err := store.RawExec(ctx, old, stmt.sql, stmt.args...); err != nil {
					t.Fatalf("%s: %v", stmt.sql, err)
				}
			}
			old.Close()

			s, err := store.Open(ctx, dsn, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sys, err := s.System(ctx, "s1")
			if err != nil || sys.Latest != 2 || sys.Owner != "ml" || !slices.Equal(sys.Platforms, []string{"aws"}) {
				t.Fatalf("s1 after migrating = %+v, %v", sys, err)
			}
			ex, err := s.Exposed(ctx, "AML.T0051", true)
			if err != nil || len(ex) != 1 || ex[0].Threat != "T1" {
				t.Fatalf("exposure after migrating = %+v, %v", ex, err)
			}
			if ex, _ := s.Exposed(ctx, "AML.T0054", false); len(ex) != 1 || ex[0].Threat != "T1" {
				t.Fatalf("related-technique exposure after migrating = %+v", ex)
			}
			k, err := s.KPIs(ctx, t0.Add(48*time.Hour), store.Windows{})
			if err != nil {
				t.Fatal(err)
			}
			if k.Systems != 2 || k.OpenCritical != 1 || k.OpenHigh != 3 || k.Mitigated != 1 || k.MeanTimeToMitigate != 2 ||
				k.EscalationsWaiting != 1 || k.OldestEscalationAge != 24 {
				t.Fatalf("KPIs after migrating = %+v", k)
			}
			tr, err := s.Trend(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			want := []store.TrendPoint{
				{Day: "2025-06-01", Systems: 1, OpenCritical: 3},
				{Day: "2025-06-02", Systems: 2, OpenCritical: 1, OpenHigh: 3, Escalated: 1},
			}
			if !slices.Equal(tr, want) {
				t.Fatalf("backfilled trend = %+v, want %+v", tr, want)
			}
			// Pushing on top continues the history and the totals.
			p := mkPush("s1", t0.Add(72*time.Hour), "v3", th("T1", "mitigated"))
			p.Owner = "ml"
			p.Summary.OpenHigh = 1
			r := mustPush(t, s, p)
			if r.Version != 3 {
				t.Fatalf("push after migrating = %+v", r)
			}
			k, _ = s.KPIs(ctx, t0.Add(96*time.Hour), store.Windows{})
			if k.Mitigated != 2 || k.MeanTimeToMitigate != 37 { // 2 h and 72 h
				t.Fatalf("after a push: %d measured, mean %v", k.Mitigated, k.MeanTimeToMitigate)
			}
			checkTotals(t, s)
		})
	}
}

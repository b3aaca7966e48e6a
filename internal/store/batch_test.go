package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

// TestGroupCommitMatchesSingle writes the same pushes as group commits and
// one at a time, and compares every table a push writes. The groups hold
// pushes over several days, systems changing owner, escalations, resolved
// threats, an unchanged push and a push that fails inside the group.
func TestGroupCommitMatchesSingle(t *testing.T) {
	each(t, func(t *testing.T, grouped store.Store) {
		ctx := context.Background()
		single := storetest.Open(t, grouped.Dialect())
		day := time.Date(2025, 6, 1, 22, 0, 0, 0, time.UTC)
		var groups [][]*store.Push
		n := 0
		for g := range 4 {
			var ps []*store.Push
			for i := range 9 {
				n++
				at := day.Add(time.Duration(g*9+i) * 37 * time.Minute) // crosses midnights inside groups
				sys := fmt.Sprintf("g%d", (g*2+i)%8)
				threats := []store.Threat{th("T0", "open"), th(fmt.Sprintf("T%d", 1+n%4), []string{"open", "mitigated", "accepted"}[n%3])}
				p := mkPush(sys, at, fmt.Sprintf("model %d", n), threats...)
				p.Owner = fmt.Sprintf("team-%d", (n/3)%3)
				p.Summary.OpenCritical, p.Summary.OpenHigh = n%3, n%2
				p.Summary.Verdict = []string{"pass", "escalate", "fail"}[n%3]
				p.Summary.ThreatSet = fmt.Sprint(n % 2)
				p.Summary.RMF = map[string]float64{"GOVERN": float64(n%5) / 4}
				p.Platforms = []string{[]string{"aws", "gcp"}[n%2]}
				p.Threats[1].Related = []string{"AML.T0054"}
				if i == 4 {
					p.BaseVersion = 99 // fails: a conflict
				}
				if i == 7 && len(ps) > 0 {
					p = clonePush(ps[len(ps)-1]) // unchanged
					p.At = at
				}
				ps = append(ps, p)
			}
			groups = append(groups, ps)
		}
		for _, ps := range groups {
			res, errs := store.PushGroup(ctx, grouped, clonePushes(ps))
			for i, p := range clonePushes(ps) {
				r, err := single.Push(ctx, p)
				if (err == nil) != (errs[i] == nil) || !errors.Is(errs[i], store.ErrConflict) && errs[i] != nil {
					t.Fatalf("push %d: grouped %v, single %v", i, errs[i], err)
				}
				if err == nil && (r.Version != res[i].Version || r.Unchanged != res[i].Unchanged) {
					t.Fatalf("push %d: grouped %+v, single %+v", i, res[i], r)
				}
			}
		}
		for _, query := range []string{
			"SELECT * FROM totals",
			"SELECT * FROM owner_totals ORDER BY owner",
			"SELECT * FROM trend ORDER BY day",
			"SELECT * FROM systems ORDER BY id",
			"SELECT * FROM versions ORDER BY system_id, version",
			"SELECT * FROM threats ORDER BY system_id, threat_id",
			"SELECT * FROM threat_techniques ORDER BY technique, system_id, threat_id",
			"SELECT * FROM system_platforms ORDER BY platform, system_id",
			"SELECT digest, size FROM blobs ORDER BY digest",
			"SELECT at, actor, token_id, action, system_id, detail FROM audit ORDER BY id",
		} {
			a, err := store.RawRows(ctx, grouped, query)
			if err != nil {
				t.Fatal(err)
			}
			b, err := store.RawRows(ctx, single, query)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a, b) {
				t.Errorf("%s:\ngrouped %q\nsingle  %q", query, a, b)
			}
			if len(a) == 0 {
				t.Errorf("%s: no rows", query)
			}
		}
		checkTotals(t, grouped)
	})
}

func clonePush(p *store.Push) *store.Push {
	c := *p
	c.Threats = slices.Clone(p.Threats)
	return &c
}

func clonePushes(ps []*store.Push) []*store.Push {
	out := make([]*store.Push, len(ps))
	for i, p := range ps {
		out[i] = clonePush(p)
	}
	return out
}

package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

// pushOnly hides a store's Loader, so Seed goes through Push.
type pushOnly struct{ store.Store }

// TestLoadMatchesPush seeds the same histories through Load and through
// Push and compares everything the server reads.
func TestLoadMatchesPush(t *testing.T) {
	each(t, func(t *testing.T, loaded store.Store) {
		ctx := context.Background()
		pushed := storetest.Open(t, loaded.Dialect())
		end := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
		const systems, versions = 40, 8
		if err := storetest.SeedUntil(ctx, loaded, systems, versions, end); err != nil {
			t.Fatal(err)
		}
		if err := storetest.SeedUntil(ctx, pushOnly{pushed}, systems, versions, end); err != nil {
			t.Fatal(err)
		}
		same := func(what string, get func(s store.Store) (any, error)) {
			t.Helper()
			a, err := get(loaded)
			if err != nil {
				t.Fatalf("%s (loaded): %v", what, err)
			}
			b, err := get(pushed)
			if err != nil {
				t.Fatalf("%s (pushed): %v", what, err)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Fatalf("%s differs:\n loaded %s\n pushed %s", what, ja, jb)
			}
		}
		same("systems", func(s store.Store) (any, error) {
			l, n, err := s.ListSystems(ctx, store.Filter{Sort: "name", Limit: 500})
			if n != systems {
				t.Errorf("%d systems", n)
			}
			return l, err
		})
		for i := 0; i < systems; i += 3 {
			id := storetest.SystemID(i)
			same("versions of "+id, func(s store.Store) (any, error) { return s.Versions(ctx, id) })
			same("threats of "+id, func(s store.Store) (any, error) { return s.Threats(ctx, id) })
		}
		same("KPIs", func(s store.Store) (any, error) { return s.KPIs(ctx, end, store.Windows{}) })
		same("trend", func(s store.Store) (any, error) { return s.Trend(ctx, time.Time{}) })
		same("heat map", func(s store.Store) (any, error) { return s.HeatMap(ctx) })
		same("queue", func(s store.Store) (any, error) { return s.ReviewQueue(ctx) })
		same("exposure", func(s store.Store) (any, error) { return s.Exposed(ctx, "AML.T0051", true) })
		same("push audit", func(s store.Store) (any, error) {
			es, err := s.Audit(ctx, store.AuditFilter{Action: "push", Limit: 1000})
			for i := range es {
				es[i].ID = 0 // ids depend on the write order
			}
			return len(es), err
		})
		k, _ := loaded.KPIs(ctx, end, store.Windows{})
		if k.Mitigated == 0 || k.EscalationsWaiting == 0 || k.AcceptedExpiring == 0 || k.OpenCritical == 0 {
			t.Errorf("seeded portfolio lacks variety: %+v", k)
		}
		checkTotals(t, loaded)
		// Loading a system that exists is refused.
		err := loaded.(store.Loader).Load(ctx, func() func() ([]*store.Push, error) {
			done := false
			return func() ([]*store.Push, error) {
				if done {
					return nil, nil
				}
				done = true
				return []*store.Push{mkPush(storetest.SystemID(0), end, "again")}, nil
			}
		}())
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("loading an existing system: %v", err)
		}
	})
}

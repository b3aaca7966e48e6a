package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Loader writes many systems' histories quickly: seeding for benchmarks,
// load tests and imports. The stores Open returns implement it.
type Loader interface {
	// Load calls next for batches of pushes until it returns nil. Every
	// system in a batch must be new to the store and have all its pushes
	// in that batch, oldest first. The pushes follow Push's rules (version
	// numbers, unchanged pushes skipped, threat lifecycles, escalation
	// ages, audit entries), but each batch is written with multi-row
	// statements in one transaction; the running totals and the trend are
	// recomputed from the versions at the end.
	Load(ctx context.Context, next func() ([]*Push, error)) error
}

var _ Loader = (*db)(nil)

// Load implements Loader. Batches are prepared (lifecycles, digests,
// compression) on another goroutine while the previous one is written.
func (s *db) Load(ctx context.Context, next func() ([]*Push, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type prepared struct {
		b   *loadRows
		err error
	}
	ch := make(chan prepared, 1)
	go func() {
		defer close(ch)
		for {
			batch, err := next()
			var b *loadRows
			if err == nil && batch != nil {
				b, err = prepareLoad(batch)
			}
			if err == nil && b == nil {
				return
			}
			select {
			case ch <- prepared{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for p := range ch {
		if p.err != nil {
			return p.err
		}
		if err := s.writeLoad(ctx, p.b); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.write(ctx, false, func(tx *sql.Tx) error { return s.rebuildTotals(ctx, tx) }); err != nil {
		return err
	}
	// The planner's statistics, for the tables that just grew (SQLite
	// samples at most 1000 rows per index); on PostgreSQL a vacuum also
	// marks the new pages all-visible, so index-only scans stay so.
	analyze := "VACUUM (ANALYZE)"
	if s.dialect == SQLite {
		analyze = "PRAGMA analysis_limit = 1000; ANALYZE"
	}
	if _, err := s.w.ExecContext(ctx, analyze); err != nil {
		return fmt.Errorf("store: analyze: %w", err)
	}
	return nil
}

// loadedSystem is one system's state while its batch is applied.
type loadedSystem struct {
	first, last    *Push
	latest         int
	digests        [6]string
	verdict        string
	threatSet      string
	escalatedSince sql.NullInt64
	threats        map[string]*threatRow
}

// loadRows are one batch's rows, table by table.
type loadRows struct {
	systems, platforms, blobs, versions, threats, techniques, audit [][]any
}

// prepareLoad applies a batch's pushes in memory.
func prepareLoad(batch []*Push) (*loadRows, error) {
	var (
		order    []string
		systems  = map[string]*loadedSystem{}
		versions [][]any
		audit    [][]any
		blobs    = map[string][]any{}
	)
	for _, p := range batch {
		if err := validatePush(p); err != nil {
			return nil, err
		}
		ls := systems[p.System]
		if ls == nil {
			ls = &loadedSystem{first: p, threats: map[string]*threatRow{}}
			systems[p.System] = ls
			order = append(order, p.System)
		}
		var digests [6]string
		for i, f := range pushBlobs(p) {
			digests[i] = digestOf(f)
			if f != nil && blobs[digests[i]] == nil {
				blobs[digests[i]] = []any{digests[i], len(f), f} // compressed below
			}
		}
		if ls.latest > 0 && digests == ls.digests && p.Summary.Verdict == ls.verdict {
			continue
		}
		at := millis(p.At)
		ls.latest++
		v := ls.latest
		if p.Summary.Verdict == "escalate" {
			if ls.verdict != "escalate" || ls.threatSet != p.Summary.ThreatSet || !ls.escalatedSince.Valid {
				ls.escalatedSince = sql.NullInt64{Int64: at, Valid: true}
			}
		} else {
			ls.escalatedSince = sql.NullInt64{}
		}
		ls.digests, ls.verdict, ls.threatSet, ls.last = digests, p.Summary.Verdict, p.Summary.ThreatSet, p
		advance(ls.threats, p.Threats, v, at)

		row := []any{p.System, v, at, p.TokenID, p.By, p.File, p.ToolVersion, digests[0]}
		for _, d := range digests {
			row = append(row, d)
		}
		versions = append(versions, append(row, summaryArgs(&p.Summary)...))
		detail, _ := json.Marshal(struct {
			Version int    `json:"version"`
			Verdict string `json:"verdict"`
			Threats int    `json:"threats"`
		}{v, p.Summary.Verdict, p.Summary.Threats})
		audit = append(audit, []any{at, p.By, p.TokenID, "push", p.System, string(detail)})
	}

	var sysRows, platformRows, threatRows, techRows [][]any
	for _, id := range order {
		ls := systems[id]
		p := ls.last
		row := []any{id, p.Name, p.Owner, p.Criticality, jsonList(p.Platforms), jsonList(p.Tags), ls.latest,
			millis(ls.first.At), millis(p.At), ls.escalatedSince}
		sysRows = append(sysRows, append(row, summaryArgs(&p.Summary)...))
		seen := map[string]bool{}
		for _, pl := range p.Platforms {
			if pl != "" && !seen[pl] {
				seen[pl] = true
				platformRows = append(platformRows, []any{pl, id})
			}
		}
		rows := make([]*threatRow, 0, len(ls.threats))
		for _, r := range ls.threats {
			rows = append(rows, r)
			threatRows = append(threatRows, threatArgs(id, r))
		}
		techRows = append(techRows, techniqueRows(p, ls.latest, rows)...)
	}
	blobRows := make([][]any, 0, len(blobs))
	for _, b := range blobs {
		blobRows = append(blobRows, b)
	}
	compressAll(blobRows)
	// In key order: neighbouring rows land on the same index pages.
	byKey := func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) }
	slices.SortFunc(blobRows, byKey)
	slices.SortFunc(techRows, byKey)
	return &loadRows{systems: sysRows, platforms: platformRows, blobs: blobRows, versions: versions,
		threats: threatRows, techniques: techRows, audit: audit}, nil
}

func (s *db) writeLoad(ctx context.Context, b *loadRows) error {
	return s.write(ctx, false, func(tx *sql.Tx) error {
		steps := []struct {
			table  string
			cols   []string
			rows   [][]any
			suffix string
		}{
			{"systems", strings.Split("id, name, owner, criticality, platforms, tags, latest, created_at, updated_at, escalated_since, "+summaryColumns, ", "), b.systems, ""},
			{"system_platforms", []string{"platform", "system_id"}, b.platforms, ""},
			{"blobs", []string{"digest", "size", "data"}, b.blobs, " ON CONFLICT (digest) DO NOTHING"},
			{"versions", strings.Split("system_id, version, pushed_at, token_id, pushed_by, file, tool_version, model_digest, "+
				"blob_model, blob_analysis, blob_gap, blob_gate, blob_evidence, blob_review, "+summaryColumns, ", "), b.versions, ""},
			{"threats", threatColumns, b.threats, ""},
			{"threat_techniques", techniqueColumns, b.techniques, ""},
			{"audit", []string{"at", "actor", "token_id", "action", "system_id", "detail"}, b.audit, ""},
		}
		for _, st := range steps {
			if err := s.insertRows(ctx, tx, st.table, st.cols, st.rows, st.suffix); err != nil {
				if isUnique(err) && st.table == "systems" {
					return fmt.Errorf("store: load: a system of the batch already exists: %w", ErrExists)
				}
				return fmt.Errorf("store: load %s: %w", st.table, err)
			}
		}
		return nil
	})
}

// The statements that recompute the running totals and the trend from the
// base tables; migrations/*/00002_trend.sql backfills with the same ones.
var (
	qRebuildTotals = q(`UPDATE totals SET
		systems = (SELECT COUNT(*) FROM systems),
		open_critical = (SELECT COALESCE(SUM(open_critical), 0) FROM systems),
		open_high = (SELECT COALESCE(SUM(open_high), 0) FROM systems),
		escalated = (SELECT COUNT(*) FROM systems WHERE verdict = 'escalate'),
		resolved_count = (SELECT COUNT(*) FROM threats WHERE resolved_ms IS NOT NULL),
		resolved_ms_sum = (SELECT COALESCE(SUM(resolved_ms), 0) FROM threats WHERE resolved_ms IS NOT NULL)
		WHERE id = 1`)
	qRebuildOwners = `INSERT INTO owner_totals (owner, systems, open_critical, open_high, govern_sum, govern_n, map_sum, map_n,
    measure_sum, measure_n, manage_sum, manage_n)
SELECT owner, COUNT(*), COALESCE(SUM(open_critical), 0), COALESCE(SUM(open_high), 0),
       COALESCE(SUM(CAST(ROUND(rmf_govern * 1000000) AS BIGINT)), 0), COUNT(rmf_govern),
       COALESCE(SUM(CAST(ROUND(rmf_map * 1000000) AS BIGINT)), 0), COUNT(rmf_map),
       COALESCE(SUM(CAST(ROUND(rmf_measure * 1000000) AS BIGINT)), 0), COUNT(rmf_measure),
       COALESCE(SUM(CAST(ROUND(rmf_manage * 1000000) AS BIGINT)), 0), COUNT(rmf_manage)
  FROM systems GROUP BY owner`
	rebuildTrend = `INSERT INTO trend (day, systems, open_critical, open_high, escalated)
SELECT day, systems, open_critical, open_high, escalated FROM (
    SELECT day,
           SUM(d_sys) OVER w AS systems,
           SUM(d_crit) OVER w AS open_critical,
           SUM(d_high) OVER w AS open_high,
           SUM(d_esc) OVER w AS escalated,
           ROW_NUMBER() OVER (PARTITION BY day ORDER BY pushed_at DESC, system_id DESC, version DESC) AS rn
      FROM (
        SELECT DAY AS day,
               pushed_at, system_id, version,
               CASE WHEN LAG(version) OVER s IS NULL THEN 1 ELSE 0 END AS d_sys,
               open_critical - COALESCE(LAG(open_critical) OVER s, 0) AS d_crit,
               open_high - COALESCE(LAG(open_high) OVER s, 0) AS d_high,
               (CASE WHEN verdict = 'escalate' THEN 1 ELSE 0 END)
                 - COALESCE(LAG(CASE WHEN verdict = 'escalate' THEN 1 ELSE 0 END) OVER s, 0) AS d_esc
          FROM versions
        WINDOW s AS (PARTITION BY system_id ORDER BY version)
      ) d
    WINDOW w AS (ORDER BY pushed_at, system_id, version ROWS UNBOUNDED PRECEDING)
) x
WHERE rn = 1`
	qRebuildTrend = query{
		lite: strings.Replace(rebuildTrend, "DAY", "strftime('%Y-%m-%d', pushed_at / 1000, 'unixepoch')", 1),
		pg:   strings.Replace(rebuildTrend, "DAY", "to_char(to_timestamp(pushed_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')", 1),
	}
)

func (s *db) rebuildTotals(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, s.sql(qRebuildTotals)); err != nil {
		return fmt.Errorf("store: rebuild totals: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM owner_totals"); err != nil {
		return fmt.Errorf("store: rebuild owner totals: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qRebuildOwners); err != nil {
		return fmt.Errorf("store: rebuild owner totals: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM trend"); err != nil {
		return fmt.Errorf("store: rebuild trend: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.sql(qRebuildTrend)); err != nil {
		return fmt.Errorf("store: rebuild trend: %w", err)
	}
	return nil
}

// compressAll replaces each row's third value (the content) by its gzip,
// on all processors.
func compressAll(rows [][]any) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(rows); i += workers {
				rows[i][2] = gzipBytes(rows[i][2].([]byte))
			}
		}()
	}
	wg.Wait()
}

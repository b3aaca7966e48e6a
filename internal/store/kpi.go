package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Default KPI windows.
const (
	DefaultReviewWindow   = 90 * 24 * time.Hour
	DefaultEvidenceWindow = 90 * 24 * time.Hour
	DefaultExpiringWindow = 30 * 24 * time.Hour
)

var (
	// The per-owner running totals; the portfolio's are their sums.
	qKPIOwners = q(`SELECT owner, systems, open_critical, open_high, govern_sum, govern_n, map_sum, map_n,
		measure_sum, measure_n, manage_sum, manage_n FROM owner_totals WHERE systems > 0`)
	// Index range counts. A date window holds the dates on or after the
	// day now−window falls on.
	qKPIWindows = q(`SELECT
		(SELECT COUNT(*) FROM systems WHERE stale = 0 AND reviewed_at >= ? AND reviewed_at <> ''),
		(SELECT COUNT(*) FROM systems WHERE evidence_at >= ? AND evidence_at <> '')`)
	qKPIResolved = q(`SELECT resolved_count, resolved_ms_sum FROM totals WHERE id = 1`)
	// The p90 walks the index from the top: only the slowest tenth.
	qKPIPercentile = q(`SELECT resolved_ms FROM threats WHERE resolved_ms IS NOT NULL
		ORDER BY resolved_ms DESC LIMIT 1 OFFSET ?`)
	qKPIExpiring = q(`SELECT COUNT(*) FROM threats
		WHERE status = 'accepted' AND resolved_at IS NULL AND until >= ? AND until <= ?`)
	qKPIEscalations = q(`SELECT COUNT(*), MIN(s.escalated_since), CAST(AVG(s.escalated_since) AS DOUBLE PRECISION)
		FROM systems s
		WHERE s.verdict = 'escalate' AND NOT EXISTS (
			SELECT 1 FROM decisions d WHERE d.system_id = s.id AND d.threat_set = s.threat_set)`)
)

// KPIs implements Store. Windows left zero take the defaults (90, 90 and
// 30 days). The p90 time to mitigate is the nearest-rank percentile.
func (s *db) KPIs(ctx context.Context, now time.Time, w Windows) (*KPIs, error) {
	if w.Review <= 0 {
		w.Review = DefaultReviewWindow
	}
	if w.Evidence <= 0 {
		w.Evidence = DefaultEvidenceWindow
	}
	if w.Expiring <= 0 {
		w.Expiring = DefaultExpiringWindow
	}
	now = now.UTC()
	today := now.Format(dateLayout)
	k := &KPIs{At: now, RMF: map[string]float64{}}
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.sql(qKPIOwners))
		if err != nil {
			return fmt.Errorf("owners: %w", err)
		}
		var (
			rmfSum   [4]int64
			rmfCount [4]int
		)
		for rows.Next() {
			var (
				o      OwnerRisk
				sums   [4]int64
				counts [4]int
			)
			if err := rows.Scan(&o.Owner, &o.Systems, &o.Critical, &o.High,
				&sums[0], &counts[0], &sums[1], &counts[1], &sums[2], &counts[2], &sums[3], &counts[3]); err != nil {
				rows.Close()
				return err
			}
			k.PerOwner = append(k.PerOwner, o)
			k.Systems += o.Systems
			k.OpenCritical += o.Critical
			k.OpenHigh += o.High
			for i := range rmfFunctions {
				rmfSum[i] += sums[i]
				rmfCount[i] += counts[i]
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i, f := range rmfFunctions {
			if rmfCount[i] > 0 {
				k.RMF[f] = math.Round(float64(rmfSum[i])/float64(rmfCount[i])*1e3) / 1e9
			}
		}
		if err := tx.QueryRowContext(ctx, s.sql(qKPIWindows), now.Add(-w.Review).Format(dateLayout),
			now.Add(-w.Evidence).Format(dateLayout)).Scan(&k.UpToDate, &k.FreshEvidence); err != nil {
			return fmt.Errorf("windows: %w", err)
		}

		var sumMs int64
		if err := tx.QueryRowContext(ctx, s.sql(qKPIResolved)).Scan(&k.Mitigated, &sumMs); err != nil {
			return fmt.Errorf("totals: %w", err)
		}
		if k.Mitigated > 0 {
			k.MeanTimeToMitigate = float64(sumMs) / float64(k.Mitigated) / msPerHour
			rank := int(math.Ceil(0.9 * float64(k.Mitigated))) // 1-based, ascending
			var p90 int64
			if err := tx.QueryRowContext(ctx, s.sql(qKPIPercentile), k.Mitigated-rank).Scan(&p90); err != nil {
				return fmt.Errorf("p90: %w", err)
			}
			k.P90TimeToMitigate = float64(p90) / msPerHour
		}

		if err := tx.QueryRowContext(ctx, s.sql(qKPIExpiring), today, now.Add(w.Expiring).Format(dateLayout)).Scan(&k.AcceptedExpiring); err != nil {
			return fmt.Errorf("expiring: %w", err)
		}

		var oldest sql.NullInt64
		var mean sql.NullFloat64
		if err := tx.QueryRowContext(ctx, s.sql(qKPIEscalations)).Scan(&k.EscalationsWaiting, &oldest, &mean); err != nil {
			return fmt.Errorf("escalations: %w", err)
		}
		if k.EscalationsWaiting > 0 && oldest.Valid && mean.Valid {
			nowMs := float64(millis(now))
			k.OldestEscalationAge = (nowMs - float64(oldest.Int64)) / msPerHour
			k.MeanEscalationAge = (nowMs - mean.Float64) / msPerHour
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: KPIs: %w", err)
	}
	if k.Systems > 0 {
		k.UpToDatePct = 100 * float64(k.UpToDate) / float64(k.Systems)
		k.FreshEvidencePct = 100 * float64(k.FreshEvidence) / float64(k.Systems)
	}
	slices.SortFunc(k.PerOwner, func(a, b OwnerRisk) int {
		if a.Critical != b.Critical {
			return b.Critical - a.Critical
		}
		if a.High != b.High {
			return b.High - a.High
		}
		return strings.Compare(a.Owner, b.Owner)
	})
	return k, nil
}

const msPerHour = float64(time.Hour / time.Millisecond)

var qTrend = q(`SELECT day, systems, open_critical, open_high, escalated FROM trend WHERE day >= ? ORDER BY day`)

// Trend implements Store: one point per day that had a push, oldest first.
func (s *db) Trend(ctx context.Context, since time.Time) ([]TrendPoint, error) {
	rows, err := s.r.QueryContext(ctx, s.sql(qTrend), since.UTC().Format(dateLayout))
	if err != nil {
		return nil, fmt.Errorf("store: trend: %w", err)
	}
	defer rows.Close()
	var out []TrendPoint
	for rows.Next() {
		var p TrendPoint
		if err := rows.Scan(&p.Day, &p.Systems, &p.OpenCritical, &p.OpenHigh, &p.Escalated); err != nil {
			return nil, fmt.Errorf("store: trend: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: trend: %w", err)
	}
	return out, nil
}

var qHeatMap = q(`SELECT criticality, max_severity, COUNT(*) FROM systems GROUP BY criticality, max_severity`)

// criticalityRank orders criticalities strongest first; others follow.
var criticalityRank = map[string]int{"critical": 4, "high": 3, "medium": 2, "low": 1}

// HeatMap implements Store: cells ordered by criticality, then severity,
// strongest first.
func (s *db) HeatMap(ctx context.Context) ([]HeatCell, error) {
	rows, err := s.r.QueryContext(ctx, s.sql(qHeatMap))
	if err != nil {
		return nil, fmt.Errorf("store: heat map: %w", err)
	}
	defer rows.Close()
	var out []HeatCell
	for rows.Next() {
		var c HeatCell
		if err := rows.Scan(&c.Criticality, &c.Severity, &c.Systems); err != nil {
			return nil, fmt.Errorf("store: heat map: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: heat map: %w", err)
	}
	slices.SortFunc(out, func(a, b HeatCell) int {
		if d := criticalityRank[b.Criticality] - criticalityRank[a.Criticality]; d != 0 {
			return d
		}
		if c := strings.Compare(a.Criticality, b.Criticality); c != 0 {
			return c
		}
		if d := severityRank[b.Severity] - severityRank[a.Severity]; d != 0 {
			return d
		}
		return strings.Compare(a.Severity, b.Severity)
	})
	return out, nil
}

var qQueue = q("SELECT " + systemColumns + `, v.pushed_by
	FROM systems s JOIN versions v ON v.system_id = s.id AND v.version = s.latest
	WHERE s.verdict = 'escalate' AND NOT EXISTS (
		SELECT 1 FROM decisions d WHERE d.system_id = s.id AND d.threat_set = s.threat_set)
	ORDER BY s.escalated_since, s.id`)

// ReviewQueue implements Store.
func (s *db) ReviewQueue(ctx context.Context) ([]QueueItem, error) {
	rows, err := s.r.QueryContext(ctx, s.sql(qQueue))
	if err != nil {
		return nil, fmt.Errorf("store: review queue: %w", err)
	}
	defer rows.Close()
	var out []QueueItem
	for rows.Next() {
		var by string
		sys, err := scanSystem(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &by)...) }))
		if err != nil {
			return nil, fmt.Errorf("store: review queue: %w", err)
		}
		out = append(out, QueueItem{System: *sys, Version: sys.Latest, Since: sys.EscalatedSince, PushedBy: by, ThreatSet: sys.Summary.ThreatSet})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: review queue: %w", err)
	}
	return out, nil
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// ErrInvalid marks input the store refuses (the server answers 400).
var ErrInvalid = errors.New("invalid")

// Threat statuses.
var threatStatuses = map[string]bool{
	"open": true, "in-progress": true, "accepted": true, "mitigated": true, "false-positive": true,
}

// resolvedStatus reports whether a threat with this status no longer needs
// treatment: it counts as resolved from the version that says so.
func resolvedStatus(status string) bool { return status == "mitigated" || status == "false-positive" }

// threatRow is one threat's lifecycle as the threats table keeps it.
type threatRow struct {
	Threat
	firstSeen    int64
	firstVersion int
	lastVersion  int
	resolvedAt   sql.NullInt64
	resolvedMs   sql.NullInt64 // time to mitigate; NULL when never measured
}

// lifecycleChange is what advance did to a system's threats.
type lifecycleChange struct {
	present  []*threatRow // threats of the new version (full rows), by id
	resolved []*threatRow // threats absent from it that were unresolved until now
	dCount   int          // change in measured resolutions
	dSum     int64        // change in their summed milliseconds
}

// advance applies version v's threats, pushed at at (unix ms), to a
// system's lifecycles in cur (updated in place):
//
//   - a new id is first seen now; when it arrives already mitigated or a
//     false positive it is resolved but not measured (it was never open);
//   - an id seen before keeps its first sighting; when it was resolved and
//     is open again its resolution is cleared;
//   - an unresolved id whose status became mitigated or false-positive, or
//     that the version no longer has, is resolved now, and its time to
//     mitigate (now − first seen) is measured.
func advance(cur map[string]*threatRow, threats []Threat, v int, at int64) lifecycleChange {
	var c lifecycleChange
	seen := make(map[string]bool, len(threats))
	resolve := func(r *threatRow) {
		r.resolvedAt = sql.NullInt64{Int64: at, Valid: true}
		r.resolvedMs = sql.NullInt64{Int64: max(0, at-r.firstSeen), Valid: true}
		c.dCount++
		c.dSum += r.resolvedMs.Int64
	}
	for _, t := range threats {
		seen[t.ID] = true
		done := resolvedStatus(t.Status)
		r, ok := cur[t.ID]
		if !ok {
			r = &threatRow{Threat: t, firstSeen: at, firstVersion: v, lastVersion: v}
			if done {
				r.resolvedAt = sql.NullInt64{Int64: at, Valid: true}
			}
			cur[t.ID] = r
			c.present = append(c.present, r)
			continue
		}
		r.Threat = t
		r.lastVersion = v
		switch {
		case !r.resolvedAt.Valid && done:
			resolve(r)
		case r.resolvedAt.Valid && !done:
			if r.resolvedMs.Valid {
				c.dCount--
				c.dSum -= r.resolvedMs.Int64
			}
			r.resolvedAt = sql.NullInt64{}
			r.resolvedMs = sql.NullInt64{}
		}
		c.present = append(c.present, r)
	}
	for id, r := range cur {
		if !seen[id] && !r.resolvedAt.Valid {
			resolve(r)
			c.resolved = append(c.resolved, r)
		}
	}
	// A fixed order keeps PostgreSQL's row locks in one order across
	// transactions.
	byID := func(a, b *threatRow) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(c.present, byID)
	slices.SortFunc(c.resolved, byID)
	return c
}

// techniqueColumns are threat_techniques' columns in techniqueRows order.
var techniqueColumns = []string{"technique", "system_id", "threat_id", "system_name", "owner", "version",
	"title", "element", "threat_technique", "residual", "status"}

// techniqueRows lists the techniques (main and related) of every
// unresolved threat among rows, de-duplicated per threat, as
// threat_techniques rows of system p at version v.
func techniqueRows(p *Push, v int, rows []*threatRow) [][]any {
	var out [][]any
	for _, r := range rows {
		if r.resolvedAt.Valid {
			continue
		}
		seen := map[string]bool{}
		for _, t := range append([]string{r.Technique}, r.Related...) {
			if t == "" || seen[t] {
				continue
			}
			seen[t] = true
			out = append(out, []any{t, p.System, r.ID, p.Name, p.Owner, v, r.Title, r.Element, r.Technique, r.Residual, r.Status})
		}
	}
	return out
}

// techniqueDigest fingerprints a system's technique rows, leaving out the
// version column (Exposed reads the system's latest version instead).
func techniqueDigest(rows [][]any) string {
	h := sha256.New()
	for _, r := range rows {
		for i, v := range r {
			if techniqueColumns[i] == "version" {
				continue
			}
			fmt.Fprintf(h, "%v\x1f", v)
		}
		h.Write([]byte{0x1e})
	}
	return hex.EncodeToString(h.Sum(nil))
}

var (
	qTechniqueDigest    = q(`SELECT techniques_digest FROM systems WHERE id = ?`)
	qSetTechniqueDigest = q(`UPDATE systems SET techniques_digest = ? WHERE id = ?`)
)

// threatColumns are the threats table's columns in threatArgs order.
var threatColumns = []string{
	"system_id", "threat_id", "rule", "title", "element", "technique", "related", "tactics",
	"severity", "residual", "residual_score", "status", "until",
	"first_seen", "first_version", "last_version", "resolved_at", "resolved_ms",
}

func threatArgs(systemID string, r *threatRow) []any {
	return []any{
		systemID, r.ID, r.Rule, r.Title, r.Element, r.Technique, jsonList(r.Related), jsonList(r.Tactics),
		r.Severity, r.Residual, r.ResidualScore, r.Status, r.Until,
		r.firstSeen, r.firstVersion, r.lastVersion, r.resolvedAt, r.resolvedMs,
	}
}

var threatUpsert = func() string {
	var set []string
	for _, c := range threatColumns[2:] {
		set = append(set, c+" = excluded."+c)
	}
	return " ON CONFLICT (system_id, threat_id) DO UPDATE SET " + strings.Join(set, ", ")
}()

// blob is one pushed file, hashed and (when new) compressed.
type blob struct {
	digest string
	size   int
	gz     []byte // nil when the store already has it
}

func digestOf(b []byte) string {
	if b == nil {
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// gzipWriters recycles compressors (a gzip.Writer allocates about a
// megabyte of state): [0] stores, [1] compresses.
var gzipWriters = [2]sync.Pool{
	{New: func() any { zw, _ := gzip.NewWriterLevel(nil, gzip.NoCompression); return zw }},
	{New: func() any { zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return zw }},
}

// smallBlob is the size below which compressing saves too little to pay
// for itself: such blobs are stored in gzip's uncompressed framing.
const smallBlob = 512

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	pool := &gzipWriters[1]
	if len(b) < smallBlob {
		pool = &gzipWriters[0]
	}
	zw := pool.Get().(*gzip.Writer)
	zw.Reset(&buf)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = zw.Write(b)
	_ = zw.Close()
	pool.Put(zw)
	return buf.Bytes()
}

// validatePush checks what the store relies on and normalises statuses.
func validatePush(p *Push) error {
	if p == nil {
		return fmt.Errorf("%w: nil push", ErrInvalid)
	}
	if strings.TrimSpace(p.System) == "" {
		return fmt.Errorf("%w: push without a system id", ErrInvalid)
	}
	seen := make(map[string]bool, len(p.Threats))
	for i := range p.Threats {
		t := &p.Threats[i]
		if t.ID == "" {
			return fmt.Errorf("%w: system %s: threat %d has no id", ErrInvalid, p.System, i)
		}
		if seen[t.ID] {
			return fmt.Errorf("%w: system %s: threat id %s appears twice", ErrInvalid, p.System, t.ID)
		}
		seen[t.ID] = true
		if t.Status == "" {
			t.Status = "open"
		}
		if !threatStatuses[t.Status] {
			return fmt.Errorf("%w: system %s: threat %s has unknown status %q", ErrInvalid, p.System, t.ID, t.Status)
		}
	}
	if p.At.IsZero() {
		p.At = now()
	}
	p.At = p.At.UTC()
	return nil
}

// pushBlobs hashes the push's files in the versions table's order.
func pushBlobs(p *Push) [6][]byte {
	return [6][]byte{p.Model, p.Analysis, p.Gap, p.Gate, p.Evidence, p.Review}
}

// prepareBlobs hashes the files and compresses those the store lacks,
// outside any transaction so the write lock is held briefly.
func (s *db) prepareBlobs(ctx context.Context, p *Push) (digests [6]string, blobs []blob, err error) {
	files := pushBlobs(p)
	want := map[string][]byte{}
	for i, f := range files {
		digests[i] = digestOf(f)
		if f != nil {
			want[digests[i]] = f
		}
	}
	if len(want) == 0 {
		return digests, nil, nil
	}
	keys := make([]string, 0, len(want))
	args := make([]any, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, k)
	}
	have := map[string]bool{}
	rows, err := s.r.QueryContext(ctx, s.bind("SELECT digest FROM blobs WHERE digest IN ("+
		strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")+")"), args...)
	if err != nil {
		return digests, nil, err
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return digests, nil, err
		}
		have[d] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return digests, nil, err
	}
	for _, k := range keys {
		if !have[k] {
			blobs = append(blobs, blob{digest: k, size: len(want[k]), gz: gzipBytes(want[k])})
		}
	}
	return digests, blobs, nil
}

var (
	qSystemForPush = q(`SELECT latest, platforms, open_critical, open_high, verdict, threat_set, escalated_since, created_at,
		owner, rmf_govern, rmf_map, rmf_measure, rmf_manage
		FROM systems WHERE id = ?`)
	qOwnerTotals = q(`INSERT INTO owner_totals (owner, systems, open_critical, open_high, govern_sum, govern_n, map_sum, map_n,
		measure_sum, measure_n, manage_sum, manage_n) VALUES ` + placeholders(1, 12) + `
		ON CONFLICT (owner) DO UPDATE SET systems = owner_totals.systems + excluded.systems,
		open_critical = owner_totals.open_critical + excluded.open_critical,
		open_high = owner_totals.open_high + excluded.open_high,
		govern_sum = owner_totals.govern_sum + excluded.govern_sum, govern_n = owner_totals.govern_n + excluded.govern_n,
		map_sum = owner_totals.map_sum + excluded.map_sum, map_n = owner_totals.map_n + excluded.map_n,
		measure_sum = owner_totals.measure_sum + excluded.measure_sum, measure_n = owner_totals.measure_n + excluded.measure_n,
		manage_sum = owner_totals.manage_sum + excluded.manage_sum, manage_n = owner_totals.manage_n + excluded.manage_n`)
	qLatestDigests = q(`SELECT blob_model, blob_analysis, blob_gap, blob_gate, blob_evidence, blob_review, verdict, pushed_at
		FROM versions WHERE system_id = ? AND version = ?`)
	qSystemThreats = q(`SELECT threat_id, first_seen, first_version, last_version, resolved_at, resolved_ms
		FROM threats WHERE system_id = ?`)
	qResolveThreat    = q(`UPDATE threats SET resolved_at = ?, resolved_ms = ? WHERE system_id = ? AND threat_id = ?`)
	qDeletePlatforms  = q(`DELETE FROM system_platforms WHERE system_id = ?`)
	qDeleteTechniques = q(`DELETE FROM threat_techniques WHERE system_id = ?`)
	qTotals           = q(`UPDATE totals SET systems = systems + ?, open_critical = open_critical + ?, open_high = open_high + ?,
		escalated = escalated + ?, resolved_count = resolved_count + ?, resolved_ms_sum = resolved_ms_sum + ?
		WHERE id = 1 RETURNING systems, open_critical, open_high, escalated`)
	qTrendUpsert = q(`INSERT INTO trend (day, systems, open_critical, open_high, escalated) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (day) DO UPDATE SET systems = excluded.systems, open_critical = excluded.open_critical,
		open_high = excluded.open_high, escalated = excluded.escalated`)
	qInsertAudit   = q(`INSERT INTO audit (at, actor, token_id, action, system_id, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`)
	qInsertVersion = q(`INSERT INTO versions (system_id, version, pushed_at, token_id, pushed_by, file, tool_version,
		model_digest, blob_model, blob_analysis, blob_gap, blob_gate, blob_evidence, blob_review, ` + summaryColumns + `)
		VALUES ` + placeholders(1, 14+summaryCount))
	qUpsertSystem = q(`INSERT INTO systems (id, name, owner, criticality, platforms, tags, latest, created_at, updated_at,
		escalated_since, ` + summaryColumns + `) VALUES ` + placeholders(1, 10+summaryCount) + `
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner = excluded.owner, criticality = excluded.criticality,
		platforms = excluded.platforms, tags = excluded.tags, latest = excluded.latest, updated_at = excluded.updated_at,
		escalated_since = excluded.escalated_since, ` + excludedSet(summaryColumns))
)

func excludedSet(cols string) string {
	var set []string
	for _, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		set = append(set, c+" = excluded."+c)
	}
	return strings.Join(set, ", ")
}

// priorSystem is what a push needs to know about the system's current row.
type priorSystem struct {
	exists         bool
	latest         int
	platforms      string
	openCritical   int
	openHigh       int
	verdict        string
	threatSet      string
	escalatedSince sql.NullInt64
	createdAt      int64
	owner          string
	rmf            [4]sql.NullFloat64
}

// ownerDelta is a push's change to one owner's running totals.
type ownerDelta struct {
	systems, critical, high int
	sums                    [4]int64 // RMF coverage in millionths
	counts                  [4]int
}

func (d *ownerDelta) add(sign, critical, high int, rmf [4]sql.NullFloat64) {
	d.systems += sign
	d.critical += sign * critical
	d.high += sign * high
	for i, v := range rmf {
		if v.Valid {
			d.sums[i] += int64(sign) * int64(math.Round(v.Float64*1e6))
			d.counts[i] += sign
		}
	}
}

func rmfValues(s *Summary) [4]sql.NullFloat64 {
	var out [4]sql.NullFloat64
	for i, f := range rmfFunctions {
		if v, ok := s.RMF[f]; ok {
			out[i] = sql.NullFloat64{Float64: v, Valid: true}
		}
	}
	return out
}

// updateOwnerTotals moves the system's contribution from its old owner's
// totals to its new owner's, in owner order (so that PostgreSQL's row
// locks are taken in one order).
func (s *db) updateOwnerTotals(ctx context.Context, tx *sql.Tx, old *priorSystem, p *Push) error {
	deltas := map[string]*ownerDelta{}
	get := func(o string) *ownerDelta {
		if deltas[o] == nil {
			deltas[o] = &ownerDelta{}
		}
		return deltas[o]
	}
	if old.exists {
		get(old.owner).add(-1, old.openCritical, old.openHigh, old.rmf)
	}
	get(p.Owner).add(1, p.Summary.OpenCritical, p.Summary.OpenHigh, rmfValues(&p.Summary))
	owners := make([]string, 0, len(deltas))
	for o := range deltas {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	for _, o := range owners {
		d := deltas[o]
		if *d == (ownerDelta{}) {
			continue
		}
		args := []any{o, d.systems, d.critical, d.high}
		for i := range d.sums {
			args = append(args, d.sums[i], d.counts[i])
		}
		if _, err := tx.ExecContext(ctx, s.sql(qOwnerTotals), args...); err != nil {
			return fmt.Errorf("owner totals: %w", err)
		}
	}
	return nil
}

// Push implements Store.
func (s *db) Push(ctx context.Context, p *Push) (*PushResult, error) {
	if err := validatePush(p); err != nil {
		return nil, err
	}
	digests, blobs, err := s.prepareBlobs(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("store: push %s: %w", p.System, err)
	}
	var res *PushResult
	if s.batch != nil {
		res, err = s.pushBatched(ctx, p, digests, blobs)
	} else {
		err = s.write(ctx, true, func(tx *sql.Tx) error {
			var err error
			res, err = s.pushTx(ctx, tx, p, digests, blobs)
			return err
		})
	}
	if err != nil {
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalid) {
			return nil, err
		}
		return nil, fmt.Errorf("store: push %s: %w", p.System, err)
	}
	return res, nil
}

func (s *db) pushTx(ctx context.Context, tx *sql.Tx, p *Push, digests [6]string, blobs []blob) (*PushResult, error) {
	at := millis(p.At)
	var old priorSystem
	lockRow := ""
	if s.dialect == Postgres {
		// Serialises pushes to one system; SQLite's write transaction
		// already holds the database's write lock.
		lockRow = " FOR UPDATE"
	}
	err := tx.QueryRowContext(ctx, s.sql(qSystemForPush)+lockRow, p.System).Scan(
		&old.latest, &old.platforms, &old.openCritical, &old.openHigh, &old.verdict, &old.threatSet,
		&old.escalatedSince, &old.createdAt, &old.owner, &old.rmf[0], &old.rmf[1], &old.rmf[2], &old.rmf[3])
	switch {
	case err == nil:
		old.exists = true
	case errors.Is(err, sql.ErrNoRows):
	default:
		return nil, err
	}
	if p.BaseVersion > 0 && p.BaseVersion != old.latest {
		return nil, fmt.Errorf("%w (system %s: base version %d, latest %d)", ErrConflict, p.System, p.BaseVersion, old.latest)
	}
	if old.exists && old.latest > 0 {
		var d [6]string
		var verdict string
		var pushedAt int64
		err := tx.QueryRowContext(ctx, s.sql(qLatestDigests), p.System, old.latest).Scan(
			&d[0], &d[1], &d[2], &d[3], &d[4], &d[5], &verdict, &pushedAt)
		if err != nil {
			return nil, fmt.Errorf("latest version %d: %w", old.latest, err)
		}
		if d == digests && verdict == p.Summary.Verdict {
			return &PushResult{System: p.System, Version: old.latest, Unchanged: true, At: fromMillis(pushedAt)}, nil
		}
	}
	v := old.latest + 1
	sum := &p.Summary

	// The system row first: versions and threats refer to it.
	var escalated sql.NullInt64
	if sum.Verdict == "escalate" {
		escalated = sql.NullInt64{Int64: at, Valid: true}
		if old.verdict == "escalate" && old.threatSet == sum.ThreatSet && old.escalatedSince.Valid {
			escalated = old.escalatedSince
		}
	}
	created := at
	if old.exists {
		created = old.createdAt
	}
	platforms := jsonList(p.Platforms)
	args := []any{p.System, p.Name, p.Owner, p.Criticality, platforms, jsonList(p.Tags), v, created, at, escalated}
	if _, err := tx.ExecContext(ctx, s.sql(qUpsertSystem), append(args, summaryArgs(sum)...)...); err != nil {
		return nil, fmt.Errorf("system row: %w", err)
	}
	if !old.exists || old.platforms != platforms {
		if err := s.setPlatforms(ctx, tx, p.System, p.Platforms); err != nil {
			return nil, err
		}
	}

	if err := s.insertBlobs(ctx, tx, blobs); err != nil {
		return nil, err
	}
	vargs := []any{p.System, v, at, p.TokenID, p.By, p.File, p.ToolVersion, digests[0]}
	for _, d := range digests {
		vargs = append(vargs, d)
	}
	if _, err := tx.ExecContext(ctx, s.sql(qInsertVersion), append(vargs, summaryArgs(sum)...)...); err != nil {
		return nil, fmt.Errorf("version row: %w", err)
	}

	// Threat lifecycles.
	cur := map[string]*threatRow{}
	if old.exists {
		rows, err := tx.QueryContext(ctx, s.sql(qSystemThreats), p.System)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			r := &threatRow{}
			if err := rows.Scan(&r.ID, &r.firstSeen, &r.firstVersion, &r.lastVersion, &r.resolvedAt, &r.resolvedMs); err != nil {
				rows.Close()
				return nil, err
			}
			cur[r.ID] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	change := advance(cur, p.Threats, v, at)
	if len(change.present) > 0 {
		rows := make([][]any, len(change.present))
		for i, r := range change.present {
			rows[i] = threatArgs(p.System, r)
		}
		if err := s.insertRows(ctx, tx, "threats", threatColumns, rows, threatUpsert); err != nil {
			return nil, fmt.Errorf("threats: %w", err)
		}
	}
	for _, r := range change.resolved {
		if _, err := tx.ExecContext(ctx, s.sql(qResolveThreat), r.resolvedAt, r.resolvedMs, p.System, r.ID); err != nil {
			return nil, fmt.Errorf("threat %s: %w", r.ID, err)
		}
	}
	// The technique index changes only when the open threats, their
	// techniques or the system's name or owner do; most pushes leave it.
	techRows := techniqueRows(p, v, change.present)
	techDigest := techniqueDigest(techRows)
	var oldDigest string
	if old.exists {
		if err := tx.QueryRowContext(ctx, s.sql(qTechniqueDigest), p.System).Scan(&oldDigest); err != nil {
			return nil, fmt.Errorf("technique digest: %w", err)
		}
	}
	if !old.exists || oldDigest != techDigest {
		if old.exists {
			if _, err := tx.ExecContext(ctx, s.sql(qDeleteTechniques), p.System); err != nil {
				return nil, err
			}
		}
		if len(techRows) > 0 {
			if err := s.insertRows(ctx, tx, "threat_techniques", techniqueColumns, techRows, ""); err != nil {
				return nil, fmt.Errorf("techniques: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.sql(qSetTechniqueDigest), techDigest, p.System); err != nil {
			return nil, fmt.Errorf("technique digest: %w", err)
		}
	}

	detail, _ := json.Marshal(struct {
		Version int    `json:"version"`
		Verdict string `json:"verdict"`
		Threats int    `json:"threats"`
	}{v, sum.Verdict, sum.Threats})
	var auditID int64
	if err := tx.QueryRowContext(ctx, s.sql(qInsertAudit), at, p.By, p.TokenID, "push", p.System, string(detail)).Scan(&auditID); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}

	// Running totals last: on PostgreSQL the totals row is the one lock
	// every push shares, so it is held only until the commit.
	if err := s.updateOwnerTotals(ctx, tx, &old, p); err != nil {
		return nil, err
	}
	dSys := 0
	if !old.exists {
		dSys = 1
	}
	dEsc := boolInt(sum.Verdict == "escalate") - boolInt(old.verdict == "escalate")
	var t TrendPoint
	if err := tx.QueryRowContext(ctx, s.sql(qTotals), dSys, sum.OpenCritical-old.openCritical, sum.OpenHigh-old.openHigh,
		dEsc, change.dCount, change.dSum).Scan(&t.Systems, &t.OpenCritical, &t.OpenHigh, &t.Escalated); err != nil {
		return nil, fmt.Errorf("totals: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.sql(qTrendUpsert), p.At.Format(dateLayout), t.Systems, t.OpenCritical, t.OpenHigh, t.Escalated); err != nil {
		return nil, fmt.Errorf("trend: %w", err)
	}
	return &PushResult{System: p.System, Version: v, At: fromMillis(at)}, nil
}

const dateLayout = "2006-01-02"

func (s *db) insertBlobs(ctx context.Context, tx *sql.Tx, blobs []blob) error {
	if len(blobs) == 0 {
		return nil
	}
	rows := make([][]any, len(blobs))
	for i, b := range blobs {
		rows[i] = []any{b.digest, b.size, b.gz}
	}
	if err := s.insertRows(ctx, tx, "blobs", []string{"digest", "size", "data"}, rows, " ON CONFLICT (digest) DO NOTHING"); err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	return nil
}

func (s *db) setPlatforms(ctx context.Context, tx *sql.Tx, system string, platforms []string) error {
	if _, err := tx.ExecContext(ctx, s.sql(qDeletePlatforms), system); err != nil {
		return err
	}
	var rows [][]any
	seen := map[string]bool{}
	for _, pl := range platforms {
		if pl == "" || seen[pl] {
			continue
		}
		seen[pl] = true
		rows = append(rows, []any{pl, system})
	}
	if len(rows) == 0 {
		return nil
	}
	return s.insertRows(ctx, tx, "system_platforms", []string{"platform", "system_id"}, rows, "")
}

// maxParams keeps multi-row statements under SQLite's (32766) and
// PostgreSQL's (65535) limits on bound parameters.
const maxParams = 30000

// insertRows inserts rows with multi-row INSERT statements; suffix is an
// ON CONFLICT clause or "". Full-size chunks share one prepared statement.
func (s *db) insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any, suffix string) error {
	per := max(1, maxParams/len(cols))
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(len(rows), start+per)]
		args := make([]any, 0, len(chunk)*len(cols))
		for _, r := range chunk {
			if len(r) != len(cols) {
				return fmt.Errorf("store: %s row has %d values for %d columns", table, len(r), len(cols))
			}
			args = append(args, r...)
		}
		text := s.bind(head + placeholders(len(chunk), len(cols)) + suffix)
		var err error
		switch {
		case len(chunk) < per || len(rows) < 2*per:
			_, err = tx.ExecContext(ctx, text, args...)
		default:
			if full == nil {
				if full, err = tx.PrepareContext(ctx, text); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

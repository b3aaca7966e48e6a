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
	eachTechnique(rows, func(r *threatRow, t string) {
		out = append(out, []any{t, p.System, r.ID, p.Name, p.Owner, v, r.Title, r.Element, r.Technique, r.Residual, r.Status})
	})
	return out
}

// eachTechnique calls fn for each row of techniqueRows, in its order.
func eachTechnique(rows []*threatRow, fn func(r *threatRow, technique string)) {
	for _, r := range rows {
		if r.resolvedAt.Valid {
			continue
		}
		if r.Technique != "" {
			fn(r, r.Technique)
		}
		for i, t := range r.Related {
			if t != "" && t != r.Technique && !slices.Contains(r.Related[:i], t) {
				fn(r, t)
			}
		}
	}
}

// pushTechniqueDigest fingerprints the technique rows techniqueRows would
// give, leaving out the version column (Exposed reads the system's latest
// version instead): each value followed by 0x1f, each row by 0x1e.
func pushTechniqueDigest(p *Push, rows []*threatRow) string {
	h := sha256.New()
	var buf []byte
	eachTechnique(rows, func(r *threatRow, t string) {
		buf = buf[:0]
		for _, v := range [...]string{t, p.System, r.ID, p.Name, p.Owner, r.Title, r.Element, r.Technique, r.Residual, r.Status} {
			buf = append(append(buf, v...), 0x1f)
		}
		h.Write(append(buf, 0x1e))
	})
	return hex.EncodeToString(h.Sum(nil))
}

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

// qHaveBlobs finds which of a push's six files the store has (absent
// files have the digest "", which no blob has).
var qHaveBlobs = q(`SELECT digest FROM blobs WHERE digest IN (?, ?, ?, ?, ?, ?)`)

// prepareBlobs hashes the files and compresses those the store lacks,
// outside any transaction so the write lock is held briefly.
func (s *db) prepareBlobs(ctx context.Context, p *Push) (digests [6]string, blobs []blob, err error) {
	files := pushBlobs(p)
	args := make([]any, len(files))
	some := false
	for i, f := range files {
		digests[i] = digestOf(f)
		args[i] = digests[i]
		some = some || f != nil
	}
	if !some {
		return digests, nil, nil
	}
	var rows *sql.Rows
	if s.haveBlobs != nil {
		rows, err = s.haveBlobs.QueryContext(ctx, args...)
	} else {
		rows, err = s.r.QueryContext(ctx, s.sql(qHaveBlobs), args...)
	}
	if err != nil {
		return digests, nil, err
	}
	var have []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return digests, nil, err
		}
		have = append(have, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return digests, nil, err
	}
	// The missing files, once each, in digest order.
	var keys []int
	for i, f := range files {
		if f != nil && !slices.Contains(have, digests[i]) && !slices.ContainsFunc(keys, func(k int) bool { return digests[k] == digests[i] }) {
			keys = append(keys, i)
		}
	}
	slices.SortFunc(keys, func(a, b int) int { return strings.Compare(digests[a], digests[b]) })
	for _, i := range keys {
		blobs = append(blobs, blob{digest: digests[i], size: len(files[i]), gz: gzipBytes(files[i])})
	}
	return digests, blobs, nil
}

var (
	// qSystemForPush reads the system's row and its latest version's; on
	// PostgreSQL it locks the system's row, which serialises pushes to one
	// system (SQLite's write transaction holds the database's write lock).
	qSystemForPush = forUpdate(`SELECT s.latest, s.platforms, s.open_critical, s.open_high, s.verdict, s.threat_set, s.escalated_since,
		s.created_at, s.owner, s.rmf_govern, s.rmf_map, s.rmf_measure, s.rmf_manage, s.techniques_digest,
		v.blob_model, v.blob_analysis, v.blob_gap, v.blob_gate, v.blob_evidence, v.blob_review, v.verdict, v.pushed_at
		FROM systems s LEFT JOIN versions v ON v.system_id = s.id AND v.version = s.latest
		WHERE s.id = ?`, "s")
	qOwnerTotals = q(`INSERT INTO owner_totals (owner, systems, open_critical, open_high, govern_sum, govern_n, map_sum, map_n,
		measure_sum, measure_n, manage_sum, manage_n) VALUES ` + placeholders(1, 12) + `
		ON CONFLICT (owner) DO UPDATE SET systems = owner_totals.systems + excluded.systems,
		open_critical = owner_totals.open_critical + excluded.open_critical,
		open_high = owner_totals.open_high + excluded.open_high,
		govern_sum = owner_totals.govern_sum + excluded.govern_sum, govern_n = owner_totals.govern_n + excluded.govern_n,
		map_sum = owner_totals.map_sum + excluded.map_sum, map_n = owner_totals.map_n + excluded.map_n,
		measure_sum = owner_totals.measure_sum + excluded.measure_sum, measure_n = owner_totals.measure_n + excluded.measure_n,
		manage_sum = owner_totals.manage_sum + excluded.manage_sum, manage_n = owner_totals.manage_n + excluded.manage_n`)
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
		escalated_since, techniques_digest, ` + summaryColumns + `) VALUES ` + placeholders(1, 11+summaryCount) + `
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner = excluded.owner, criticality = excluded.criticality,
		platforms = excluded.platforms, tags = excluded.tags, latest = excluded.latest, updated_at = excluded.updated_at,
		escalated_since = excluded.escalated_since, techniques_digest = excluded.techniques_digest, ` + excludedSet(summaryColumns))
)

// The savepoint around each push of a group commit.
var (
	qSavepoint  = q("SAVEPOINT push")
	qRelease    = q("RELEASE push")
	qRollbackTo = q("ROLLBACK TO push")
)

// pushStatements are the fixed statements of a push, which SQLite prepares
// once (see prepareWrites).
var pushStatements = []query{qSystemForPush, qOwnerTotals, qSystemThreats, qResolveThreat, qDeletePlatforms,
	qDeleteTechniques, qTotals, qTrendUpsert, qInsertVersion, qUpsertSystem,
	qSavepoint, qRelease, qRollbackTo}

// pushInserts are the multi-row inserts of a push.
var pushInserts = []struct {
	table  string
	cols   []string
	suffix string
}{
	{"threats", threatColumns, threatUpsert},
	{"threat_techniques", techniqueColumns, ""},
	{"blobs", blobColumns, " ON CONFLICT (digest) DO NOTHING"},
	{"system_platforms", platformColumns, ""},
	{"audit", auditColumns, ""},
}

var (
	blobColumns     = []string{"digest", "size", "data"}
	platformColumns = []string{"platform", "system_id"}
	auditColumns    = []string{"at", "actor", "token_id", "action", "system_id", "detail"}
)

func excludedSet(cols string) string {
	var set []string
	for _, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		set = append(set, c+" = excluded."+c)
	}
	return strings.Join(set, ", ")
}

// priorSystem is what a push needs to know about the system's current row
// and its latest version.
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
	techDigest     string
	digests        [6]sql.NullString // of the latest version; NULL without one
	latestVerdict  sql.NullString
	pushedAt       sql.NullInt64
}

// ownerDelta is a change to one owner's running totals.
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

func (d *ownerDelta) plus(o *ownerDelta) {
	d.systems += o.systems
	d.critical += o.critical
	d.high += o.high
	for i := range d.sums {
		d.sums[i] += o.sums[i]
		d.counts[i] += o.counts[i]
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

// totalsDelta is what pushes change in the running totals, the owners'
// totals and the daily trend, and their audit rows. A group commit adds up
// its pushes' and writes them once, before the commit: the same rows as
// writing each push's in turn, with the shared totals row locked only at
// the end.
type totalsDelta struct {
	audit  [][]any                // audit rows, in push order
	owners map[string]*ownerDelta // owners a push changed (a sum may be zero)
	steps  []trendStep            // the pushes, in order
	sum    trendStep
	dCount int   // measured resolutions
	dSum   int64 // their milliseconds
}

// trendStep is one push's day and its change to the trend's totals.
type trendStep struct {
	day                                string
	systems, critical, high, escalated int
}

func (t *totalsDelta) add(o *totalsDelta) {
	for owner, d := range o.owners {
		if t.owners == nil {
			t.owners = map[string]*ownerDelta{}
		}
		if t.owners[owner] == nil {
			t.owners[owner] = &ownerDelta{}
		}
		t.owners[owner].plus(d)
	}
	t.steps = append(t.steps, o.steps...)
	t.audit = append(t.audit, o.audit...)
	t.sum.systems += o.sum.systems
	t.sum.critical += o.sum.critical
	t.sum.high += o.sum.high
	t.sum.escalated += o.sum.escalated
	t.dCount += o.dCount
	t.dSum += o.dSum
}

// pushTotals is one push's change to the totals: the system's
// contribution moves from its old owner's totals to its new owner's.
func pushTotals(old *priorSystem, p *Push, change *lifecycleChange) *totalsDelta {
	var d totalsDelta
	owners := map[string]*ownerDelta{}
	get := func(o string) *ownerDelta {
		if owners[o] == nil {
			owners[o] = &ownerDelta{}
		}
		return owners[o]
	}
	if old.exists {
		get(old.owner).add(-1, old.openCritical, old.openHigh, old.rmf)
	}
	get(p.Owner).add(1, p.Summary.OpenCritical, p.Summary.OpenHigh, rmfValues(&p.Summary))
	for o, od := range owners {
		if *od == (ownerDelta{}) {
			delete(owners, o) // as if never touched
		}
	}
	if len(owners) > 0 {
		d.owners = owners
	}
	step := trendStep{
		day:       p.At.Format(dateLayout),
		critical:  p.Summary.OpenCritical - old.openCritical,
		high:      p.Summary.OpenHigh - old.openHigh,
		escalated: boolInt(p.Summary.Verdict == "escalate") - boolInt(old.verdict == "escalate"),
	}
	if !old.exists {
		step.systems = 1
	}
	d.steps = []trendStep{step}
	d.sum = step
	d.dCount, d.dSum = change.dCount, change.dSum
	return &d
}

// applyTotals writes t: the audit rows, the owners' totals in owner order
// (so that PostgreSQL's row locks are taken in one order), then the totals
// row, then each day's trend point, the totals after that day's last push.
func (s *db) applyTotals(ctx context.Context, tx *sql.Tx, t *totalsDelta) error {
	if len(t.audit) > 0 {
		if err := s.insertPush(ctx, tx, 4, t.audit); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	owners := make([]string, 0, len(t.owners))
	for o := range t.owners {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	for _, o := range owners {
		d := t.owners[o]
		args := []any{o, d.systems, d.critical, d.high}
		for i := range d.sums {
			args = append(args, d.sums[i], d.counts[i])
		}
		if _, err := s.exec(ctx, tx, qOwnerTotals, args...); err != nil {
			return fmt.Errorf("owner totals: %w", err)
		}
	}
	if len(t.steps) == 0 {
		return nil
	}
	var after trendStep
	if err := s.queryRow(ctx, tx, qTotals, t.sum.systems, t.sum.critical, t.sum.high, t.sum.escalated, t.dCount, t.dSum).Scan(
		&after.systems, &after.critical, &after.high, &after.escalated); err != nil {
		return fmt.Errorf("totals: %w", err)
	}
	done := map[string]bool{}
	for i := len(t.steps) - 1; i >= 0; i-- {
		st := &t.steps[i]
		if !done[st.day] {
			done[st.day] = true
			if _, err := s.exec(ctx, tx, qTrendUpsert, st.day, after.systems, after.critical, after.high, after.escalated); err != nil {
				return fmt.Errorf("trend: %w", err)
			}
		}
		after.systems -= st.systems
		after.critical -= st.critical
		after.high -= st.high
		after.escalated -= st.escalated
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
			res, err = s.pushAlone(ctx, tx, p, digests, blobs)
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

// pushAlone writes one push and its totals in tx.
func (s *db) pushAlone(ctx context.Context, tx *sql.Tx, p *Push, digests [6]string, blobs []blob) (*PushResult, error) {
	res, totals, err := s.pushTx(ctx, tx, p, digests, blobs)
	if err != nil {
		return nil, err
	}
	if totals != nil {
		if err := s.applyTotals(ctx, tx, totals); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// pushTx writes a push but for its change to the totals, which it returns
// (nil when the push changes nothing) for applyTotals.
func (s *db) pushTx(ctx context.Context, tx *sql.Tx, p *Push, digests [6]string, blobs []blob) (*PushResult, *totalsDelta, error) {
	at := millis(p.At)
	var old priorSystem
	err := s.queryRow(ctx, tx, qSystemForPush, p.System).Scan(
		&old.latest, &old.platforms, &old.openCritical, &old.openHigh, &old.verdict, &old.threatSet,
		&old.escalatedSince, &old.createdAt, &old.owner, &old.rmf[0], &old.rmf[1], &old.rmf[2], &old.rmf[3], &old.techDigest,
		&old.digests[0], &old.digests[1], &old.digests[2], &old.digests[3], &old.digests[4], &old.digests[5],
		&old.latestVerdict, &old.pushedAt)
	switch {
	case err == nil:
		old.exists = true
	case errors.Is(err, sql.ErrNoRows):
	default:
		return nil, nil, err
	}
	if p.BaseVersion > 0 && p.BaseVersion != old.latest {
		return nil, nil, fmt.Errorf("%w (system %s: base version %d, latest %d)", ErrConflict, p.System, p.BaseVersion, old.latest)
	}
	if old.exists && old.latest > 0 {
		if !old.pushedAt.Valid {
			return nil, nil, fmt.Errorf("latest version %d: %w", old.latest, sql.ErrNoRows)
		}
		same := old.latestVerdict.String == p.Summary.Verdict
		for i, d := range old.digests {
			same = same && d.String == digests[i]
		}
		if same {
			return &PushResult{System: p.System, Version: old.latest, Unchanged: true, At: fromMillis(old.pushedAt.Int64)}, nil, nil
		}
	}
	v := old.latest + 1
	sum := &p.Summary

	// Threat lifecycles, read first: the system row written below carries
	// the digest of the technique rows they give.
	cur := map[string]*threatRow{}
	if old.exists {
		rows, err := s.query(ctx, tx, qSystemThreats, p.System)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			r := &threatRow{}
			if err := rows.Scan(&r.ID, &r.firstSeen, &r.firstVersion, &r.lastVersion, &r.resolvedAt, &r.resolvedMs); err != nil {
				rows.Close()
				return nil, nil, err
			}
			cur[r.ID] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	change := advance(cur, p.Threats, v, at)
	// The technique index changes only when the open threats, their
	// techniques or the system's name or owner do; most pushes leave it.
	techDigest := pushTechniqueDigest(p, change.present)

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
	args := []any{p.System, p.Name, p.Owner, p.Criticality, platforms, jsonList(p.Tags), v, created, at, escalated, techDigest}
	if _, err := s.exec(ctx, tx, qUpsertSystem, append(args, summaryArgs(sum)...)...); err != nil {
		return nil, nil, fmt.Errorf("system row: %w", err)
	}
	if !old.exists || old.platforms != platforms {
		if err := s.setPlatforms(ctx, tx, p.System, p.Platforms); err != nil {
			return nil, nil, err
		}
	}

	if err := s.insertBlobs(ctx, tx, blobs); err != nil {
		return nil, nil, err
	}
	vargs := []any{p.System, v, at, p.TokenID, p.By, p.File, p.ToolVersion, digests[0]}
	for _, d := range digests {
		vargs = append(vargs, d)
	}
	if _, err := s.exec(ctx, tx, qInsertVersion, append(vargs, summaryArgs(sum)...)...); err != nil {
		return nil, nil, fmt.Errorf("version row: %w", err)
	}

	if len(change.present) > 0 {
		rows := make([][]any, len(change.present))
		for i, r := range change.present {
			rows[i] = threatArgs(p.System, r)
		}
		if err := s.insertPush(ctx, tx, 0, rows); err != nil {
			return nil, nil, fmt.Errorf("threats: %w", err)
		}
	}
	for _, r := range change.resolved {
		if _, err := s.exec(ctx, tx, qResolveThreat, r.resolvedAt, r.resolvedMs, p.System, r.ID); err != nil {
			return nil, nil, fmt.Errorf("threat %s: %w", r.ID, err)
		}
	}
	if !old.exists || old.techDigest != techDigest {
		if old.exists {
			if _, err := s.exec(ctx, tx, qDeleteTechniques, p.System); err != nil {
				return nil, nil, err
			}
		}
		if techRows := techniqueRows(p, v, change.present); len(techRows) > 0 {
			if err := s.insertPush(ctx, tx, 1, techRows); err != nil {
				return nil, nil, fmt.Errorf("techniques: %w", err)
			}
		}
	}

	detail, _ := json.Marshal(struct {
		Version int    `json:"version"`
		Verdict string `json:"verdict"`
		Threats int    `json:"threats"`
	}{v, sum.Verdict, sum.Threats})
	totals := pushTotals(&old, p, &change)
	totals.audit = [][]any{{at, p.By, p.TokenID, "push", p.System, string(detail)}}
	return &PushResult{System: p.System, Version: v, At: fromMillis(at)}, totals, nil
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
	if err := s.insertPush(ctx, tx, 2, rows); err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	return nil
}

func (s *db) setPlatforms(ctx context.Context, tx *sql.Tx, system string, platforms []string) error {
	if _, err := s.exec(ctx, tx, qDeletePlatforms, system); err != nil {
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
	return s.insertPush(ctx, tx, 3, rows)
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

package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// systemColumns are the systems table's columns scanSystem reads.
var systemColumns = "s.id, s.name, s.owner, s.criticality, s.platforms, s.tags, s.latest, s.created_at, s.updated_at, " +
	"s.escalated_since, " + prefixed("s", summaryColumns)

type scanner interface{ Scan(dest ...any) error }

func scanSystem(row scanner) (*System, error) {
	var (
		sys              System
		platforms, tags  string
		created, updated int64
		escalated        sql.NullInt64
		sum              summaryScan
	)
	dest := []any{&sys.ID, &sys.Name, &sys.Owner, &sys.Criticality, &platforms, &tags, &sys.Latest, &created, &updated, &escalated}
	if err := row.Scan(append(dest, sum.dest()...)...); err != nil {
		return nil, err
	}
	var err error
	if sys.Platforms, err = parseList("systems.platforms", platforms); err != nil {
		return nil, err
	}
	if sys.Tags, err = parseList("systems.tags", tags); err != nil {
		return nil, err
	}
	sys.CreatedAt, sys.UpdatedAt = fromMillis(created), fromMillis(updated)
	sys.EscalatedSince = fromNullMillis(escalated)
	sys.Summary = sum.summary()
	return &sys, nil
}

var qSystem = q("SELECT " + systemColumns + " FROM systems s WHERE s.id = ?")

// System implements Store.
func (s *db) System(ctx context.Context, id string) (*System, error) {
	sys, err := scanSystem(s.r.QueryRowContext(ctx, s.sql(qSystem), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("system %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: system %s: %w", id, err)
	}
	return sys, nil
}

// likePattern makes a case-insensitive LIKE pattern matching sub anywhere.
func likePattern(sub string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(sub)) + "%"
}

// ListSystems implements Store.
func (s *db) ListSystems(ctx context.Context, f Filter) ([]System, int, error) {
	var where []string
	var args []any
	if f.Query != "" {
		where = append(where, `(lower(s.id) LIKE ? ESCAPE '\' OR lower(s.name) LIKE ? ESCAPE '\')`)
		p := likePattern(f.Query)
		args = append(args, p, p)
	}
	if f.Owner != "" {
		where = append(where, "s.owner = ?")
		args = append(args, f.Owner)
	}
	if f.Criticality != "" {
		where = append(where, "s.criticality = ?")
		args = append(args, f.Criticality)
	}
	if f.Platform != "" {
		where = append(where, "EXISTS (SELECT 1 FROM system_platforms p WHERE p.platform = ? AND p.system_id = s.id)")
		args = append(args, f.Platform)
	}
	if f.Severity != "" {
		rank, ok := severityRank[strings.ToLower(f.Severity)]
		if !ok {
			return nil, 0, fmt.Errorf("%w: unknown severity %q (want critical, high, medium or low)", ErrInvalid, f.Severity)
		}
		where = append(where, "s.severity_rank >= ?")
		args = append(args, rank)
	}
	if f.Verdict != "" {
		where = append(where, "s.verdict = ?")
		args = append(args, f.Verdict)
	}
	if f.Stale != nil {
		where = append(where, "s.stale = ?")
		args = append(args, boolInt(*f.Stale))
	}
	var order string
	switch f.Sort {
	case "", "risk":
		order = "s.risk_score DESC, s.id"
	case "name":
		order = "s.name, s.id"
	case "updated":
		order = "s.updated_at DESC, s.id"
	default:
		return nil, 0, fmt.Errorf("%w: unknown sort %q (want risk, name or updated)", ErrInvalid, f.Sort)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	offset := max(f.Offset, 0)
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var (
		out   []System
		total int
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.bind("SELECT COUNT(*) FROM systems s"+cond), args...).Scan(&total); err != nil {
			return err
		}
		if total <= offset {
			return nil
		}
		rows, err := tx.QueryContext(ctx, s.bind("SELECT "+systemColumns+" FROM systems s"+cond+
			" ORDER BY "+order+" LIMIT ? OFFSET ?"), append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sys, err := scanSystem(rows)
			if err != nil {
				return err
			}
			out = append(out, *sys)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: list systems: %w", err)
	}
	return out, total, nil
}

const versionColumns = "v.system_id, v.version, v.pushed_at, v.token_id, v.pushed_by, v.file, v.tool_version, v.model_digest, " +
	"v.blob_model, v.blob_analysis, v.blob_gap, v.blob_gate, v.blob_evidence, v.blob_review, "

var (
	qVersions = q("SELECT " + versionColumns + prefixed("v", summaryColumns) +
		" FROM versions v WHERE v.system_id = ? ORDER BY v.version DESC")
	qVersion = q("SELECT " + versionColumns + prefixed("v", summaryColumns) +
		" FROM versions v WHERE v.system_id = ? AND v.version = ?")
	qSystemExists = q("SELECT 1 FROM systems WHERE id = ?")
)

func scanVersion(row scanner) (*Version, error) {
	var (
		v   Version
		at  int64
		sum summaryScan
	)
	dest := []any{&v.System, &v.Version, &at, &v.TokenID, &v.By, &v.File, &v.ToolVersion, &v.ModelDigest,
		&v.Model, &v.Analysis, &v.Gap, &v.Gate, &v.Evidence, &v.Review}
	if err := row.Scan(append(dest, sum.dest()...)...); err != nil {
		return nil, err
	}
	v.At = fromMillis(at)
	v.Summary = sum.summary()
	return &v, nil
}

// mustExist returns ErrNotFound (wrapped) for a system that is not stored.
func (s *db) mustExist(ctx context.Context, tx *sql.Tx, systemID string) error {
	var one int
	if err := tx.QueryRowContext(ctx, s.sql(qSystemExists), systemID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("system %s: %w", systemID, ErrNotFound)
		}
		return err
	}
	return nil
}

// Versions implements Store.
func (s *db) Versions(ctx context.Context, systemID string) ([]Version, error) {
	var out []Version
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := s.mustExist(ctx, tx, systemID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.sql(qVersions), systemID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVersion(rows)
			if err != nil {
				return err
			}
			out = append(out, *v)
		}
		return rows.Err()
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("store: versions of %s: %w", systemID, err)
	}
	return out, nil
}

// Version implements Store.
func (s *db) Version(ctx context.Context, systemID string, n int) (*Version, error) {
	v, err := scanVersion(s.r.QueryRowContext(ctx, s.sql(qVersion), systemID, n))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("system %s version %d: %w", systemID, n, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: system %s version %d: %w", systemID, n, err)
	}
	return v, nil
}

var qBlob = q("SELECT size, data FROM blobs WHERE digest = ?")

// maxBlob bounds what Blob inflates, whatever the stored size says.
const maxBlob = 1 << 30

// Blob implements Store.
func (s *db) Blob(ctx context.Context, digest string) ([]byte, error) {
	if digest == "" {
		return nil, fmt.Errorf("blob: empty digest: %w", ErrNotFound)
	}
	var (
		size int64
		gz   []byte
	)
	err := s.r.QueryRowContext(ctx, s.sql(qBlob), digest).Scan(&size, &gz)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("blob %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: blob %s: %w", digest, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("store: blob %s: %w", digest, err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(size, 0), maxBlob)))
	if _, err := io.Copy(buf, io.LimitReader(zr, maxBlob)); err != nil {
		return nil, fmt.Errorf("store: blob %s: %w", digest, err)
	}
	if int64(buf.Len()) != size || digestOf(buf.Bytes()) != digest {
		return nil, fmt.Errorf("store: blob %s is corrupt (content does not match its digest)", digest)
	}
	return buf.Bytes(), nil
}

var (
	qExposed = q(`SELECT t.system_id, t.system_name, t.owner, s.latest, t.threat_id, t.title, t.element, t.threat_technique, t.residual, t.status
		FROM threat_techniques t JOIN systems s ON s.id = t.system_id WHERE t.technique = ?`)
	// Sub-techniques sort between "T." and "T/" ('/' follows '.'), so the
	// look-up is two ranges of the primary key.
	qExposedSub = q(`SELECT t.system_id, t.system_name, t.owner, s.latest, t.threat_id, t.title, t.element, t.threat_technique, t.residual, t.status
		FROM threat_techniques t JOIN systems s ON s.id = t.system_id WHERE t.technique = ? OR (t.technique >= ? AND t.technique < ?)`)
)

// Exposed implements Store: by system, then threat. Open means
// unresolved: open, in progress or accepted (an accepted risk is still an
// exposure).
func (s *db) Exposed(ctx context.Context, technique string, sub bool) ([]Exposure, error) {
	if technique == "" {
		return nil, fmt.Errorf("%w: empty technique", ErrInvalid)
	}
	var (
		rows *sql.Rows
		err  error
	)
	if sub {
		rows, err = s.r.QueryContext(ctx, s.sql(qExposedSub), technique, technique+".", technique+"/")
	} else {
		rows, err = s.r.QueryContext(ctx, s.sql(qExposed), technique)
	}
	if err != nil {
		return nil, fmt.Errorf("store: exposure to %s: %w", technique, err)
	}
	defer rows.Close()
	var out []Exposure
	for rows.Next() {
		var e Exposure
		if err := rows.Scan(&e.System, &e.Name, &e.Owner, &e.Version, &e.Threat, &e.Title, &e.Element, &e.Technique, &e.Residual, &e.Status); err != nil {
			return nil, fmt.Errorf("store: exposure to %s: %w", technique, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: exposure to %s: %w", technique, err)
	}
	// Sorting and de-duplicating here is cheaper than the database's
	// temporary trees (a threat may match through several techniques).
	slices.SortFunc(out, func(a, b Exposure) int {
		if c := strings.Compare(a.System, b.System); c != 0 {
			return c
		}
		return strings.Compare(a.Threat, b.Threat)
	})
	return slices.CompactFunc(out, func(a, b Exposure) bool { return a.System == b.System && a.Threat == b.Threat }), nil
}

var qThreats = q(`SELECT threat_id, rule, title, element, technique, related, tactics, severity, residual, residual_score,
	status, until, first_seen, first_version, last_version, resolved_at
	FROM threats WHERE system_id = ? ORDER BY threat_id`)

// Threats implements Store: every threat the system ever had, resolved
// ones included (their ResolvedAt is set), by id.
func (s *db) Threats(ctx context.Context, systemID string) ([]ThreatState, error) {
	var out []ThreatState
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := s.mustExist(ctx, tx, systemID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.sql(qThreats), systemID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				t                ThreatState
				related, tactics string
				first            int64
				resolved         sql.NullInt64
			)
			if err := rows.Scan(&t.ID, &t.Rule, &t.Title, &t.Element, &t.Technique, &related, &tactics, &t.Severity,
				&t.Residual, &t.ResidualScore, &t.Status, &t.Until, &first, &t.FirstVersion, &t.LastVersion, &resolved); err != nil {
				return err
			}
			if t.Related, err = parseList("threats.related", related); err != nil {
				return err
			}
			if t.Tactics, err = parseList("threats.tactics", tactics); err != nil {
				return err
			}
			t.FirstSeen = fromMillis(first)
			t.ResolvedAt = fromNullMillis(resolved)
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("store: threats of %s: %w", systemID, err)
	}
	return out, nil
}

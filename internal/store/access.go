package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

var decisionValues = map[string]bool{"approved": true, "rejected": true, "changes-requested": true}

var (
	qInsertDecision = q(`INSERT INTO decisions (system_id, version, threat_set, decision, decided_by, token_id, at, until, conditions, comment)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	qVersionExists = q(`SELECT 1 FROM versions WHERE system_id = ? AND version = ?`)
	qDecisions     = q(`SELECT id, system_id, version, threat_set, decision, decided_by, token_id, at, until, conditions, comment
		FROM decisions WHERE system_id = ? ORDER BY id DESC`)
)

// Decide implements Store. d.At defaults to now; d.ID is set.
func (s *db) Decide(ctx context.Context, d *Decision) error {
	if d == nil {
		return fmt.Errorf("%w: nil decision", ErrInvalid)
	}
	if !decisionValues[d.Decision] {
		return fmt.Errorf("%w: unknown decision %q (want approved, rejected or changes-requested)", ErrInvalid, d.Decision)
	}
	if d.Until != "" {
		if _, err := time.Parse(dateLayout, d.Until); err != nil {
			return fmt.Errorf("%w: decision until %q is not a YYYY-MM-DD date", ErrInvalid, d.Until)
		}
	}
	if d.At.IsZero() {
		d.At = now()
	}
	d.At = fromMillis(millis(d.At))
	detail, _ := json.Marshal(struct {
		Version   int    `json:"version"`
		Decision  string `json:"decision"`
		ThreatSet string `json:"threat_set"`
		Until     string `json:"until,omitempty"`
	}{d.Version, d.Decision, d.ThreatSet, d.Until})
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, s.sql(qVersionExists), d.System, d.Version).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("system %s version %d: %w", d.System, d.Version, ErrNotFound)
			}
			return err
		}
		if err := tx.QueryRowContext(ctx, s.sql(qInsertDecision), d.System, d.Version, d.ThreatSet, d.Decision, d.By,
			d.TokenID, millis(d.At), d.Until, jsonList(d.Conditions), d.Comment).Scan(&d.ID); err != nil {
			return err
		}
		var id int64
		return tx.QueryRowContext(ctx, s.sql(qInsertAudit), millis(d.At), d.By, d.TokenID, "decide", d.System, string(detail)).Scan(&id)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: decide on %s: %w", d.System, err)
	}
	return nil
}

// Decisions implements Store.
func (s *db) Decisions(ctx context.Context, systemID string) ([]Decision, error) {
	rows, err := s.r.QueryContext(ctx, s.sql(qDecisions), systemID)
	if err != nil {
		return nil, fmt.Errorf("store: decisions of %s: %w", systemID, err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		var (
			d          Decision
			at         int64
			conditions string
		)
		if err := rows.Scan(&d.ID, &d.System, &d.Version, &d.ThreatSet, &d.Decision, &d.By, &d.TokenID, &at, &d.Until,
			&conditions, &d.Comment); err != nil {
			return nil, fmt.Errorf("store: decisions of %s: %w", systemID, err)
		}
		d.At = fromMillis(at)
		if d.Conditions, err = parseList("decisions.conditions", conditions); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: decisions of %s: %w", systemID, err)
	}
	return out, nil
}

// AppendAudit implements Store. e.At defaults to now, an empty Detail to
// {}; e.ID is set.
func (s *db) AppendAudit(ctx context.Context, e *AuditEntry) error {
	if e == nil || e.Action == "" {
		return fmt.Errorf("%w: audit entry without an action", ErrInvalid)
	}
	if e.Detail == "" {
		e.Detail = "{}"
	}
	if !json.Valid([]byte(e.Detail)) {
		return fmt.Errorf("%w: audit detail is not JSON", ErrInvalid)
	}
	if e.At.IsZero() {
		e.At = now()
	}
	e.At = fromMillis(millis(e.At))
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, s.sql(qInsertAudit), millis(e.At), e.Actor, e.TokenID, e.Action, e.System, e.Detail).Scan(&e.ID)
	})
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// Audit implements Store.
func (s *db) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	query := "SELECT id, at, actor, token_id, action, system_id, detail FROM audit WHERE 1 = 1"
	var args []any
	if f.System != "" {
		query += " AND system_id = ?"
		args = append(args, f.System)
	}
	if f.Action != "" {
		query += " AND action = ?"
		args = append(args, f.Action)
	}
	if !f.Since.IsZero() {
		query += " AND at >= ?"
		args = append(args, millis(f.Since))
	}
	if f.Before > 0 {
		query += " AND id < ?"
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, min(limit, 1000))
	rows, err := s.r.QueryContext(ctx, s.bind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var (
			e  AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.TokenID, &e.Action, &e.System, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: audit: %w", err)
		}
		e.At = fromMillis(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	return out, nil
}

var roles = map[string]bool{RoleViewer: true, RoleSubmitter: true, RoleReviewer: true, RoleAdmin: true}

const tokenColumns = "id, name, role, owner, system_id, hash, created_at, created_by, revoked_at"

var (
	qInsertToken  = q("INSERT INTO tokens (" + tokenColumns + ") VALUES " + placeholders(1, 9))
	qTokenByName  = q("SELECT 1 FROM tokens WHERE name = ?")
	qAnyToken     = q("SELECT 1 FROM tokens LIMIT 1")
	qTokenByHash  = q("SELECT " + tokenColumns + " FROM tokens WHERE hash = ? AND revoked_at IS NULL")
	qTokenByID    = q("SELECT " + tokenColumns + " FROM tokens WHERE id = ?")
	qTokens       = q("SELECT " + tokenColumns + " FROM tokens ORDER BY created_at, name")
	qRevokeToken  = q("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
	qPushesSince  = q("SELECT COUNT(*) FROM versions WHERE token_id = ? AND pushed_at >= ?")
	qBootstrapPG  = q("SELECT pg_advisory_xact_lock(7220531090437617251)") // "mlthreat" bootstrap
	qTokenRevoked = q("SELECT revoked_at FROM tokens WHERE id = ?")
)

func scanToken(row scanner) (*Token, error) {
	var (
		t       Token
		created int64
		revoked sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Role, &t.Owner, &t.System, &t.Hash, &created, &t.CreatedBy, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMillis(created)
	t.RevokedAt = fromNullMillis(revoked)
	return &t, nil
}

// prepareToken validates t and fills its ID and CreatedAt when empty.
func prepareToken(t *Token) error {
	if t == nil {
		return fmt.Errorf("%w: nil token", ErrInvalid)
	}
	if t.Name == "" {
		return fmt.Errorf("%w: token without a name", ErrInvalid)
	}
	if !roles[t.Role] {
		return fmt.Errorf("%w: token %s: unknown role %q", ErrInvalid, t.Name, t.Role)
	}
	if t.Hash == "" {
		return fmt.Errorf("%w: token %s has no hash", ErrInvalid, t.Name)
	}
	if t.ID == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		t.ID = "tok_" + hex.EncodeToString(b[:])
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	t.CreatedAt = fromMillis(millis(t.CreatedAt))
	return nil
}

func (s *db) insertToken(ctx context.Context, tx *sql.Tx, t *Token) error {
	var one int
	err := tx.QueryRowContext(ctx, s.sql(qTokenByName), t.Name).Scan(&one)
	if err == nil {
		return fmt.Errorf("token %s: %w", t.Name, ErrExists)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, s.sql(qInsertToken), t.ID, t.Name, t.Role, t.Owner, t.System, t.Hash,
		millis(t.CreatedAt), t.CreatedBy, nullMillis(t.RevokedAt))
	if isUnique(err) {
		return fmt.Errorf("token %s: %w", t.Name, ErrExists)
	}
	return err
}

// BootstrapAdmin implements Store. On PostgreSQL a transaction-scoped
// advisory lock serialises instances that start together; SQLite's write
// transaction is already exclusive.
func (s *db) BootstrapAdmin(ctx context.Context, t *Token) (bool, error) {
	if t != nil && t.Role == "" {
		t.Role = RoleAdmin
	}
	if err := prepareToken(t); err != nil {
		return false, err
	}
	if t.Role != RoleAdmin {
		return false, fmt.Errorf("%w: the bootstrap token must be an admin", ErrInvalid)
	}
	created := false
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		created = false
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, s.sql(qBootstrapPG)); err != nil {
				return err
			}
		}
		var one int
		err := tx.QueryRowContext(ctx, s.sql(qAnyToken)).Scan(&one)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := s.insertToken(ctx, tx, t); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: bootstrap admin: %w", err)
	}
	return created, nil
}

// CreateToken implements Store. An empty ID is generated, a zero
// CreatedAt is now.
func (s *db) CreateToken(ctx context.Context, t *Token) error {
	if err := prepareToken(t); err != nil {
		return err
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error { return s.insertToken(ctx, tx, t) })
	if err != nil {
		if errors.Is(err, ErrExists) {
			return err
		}
		if isUnique(err) { // the same hash or id
			return fmt.Errorf("token %s: %w", t.Name, ErrExists)
		}
		return fmt.Errorf("store: create token %s: %w", t.Name, err)
	}
	return nil
}

// TokenByHash implements Store: revoked tokens are not found.
func (s *db) TokenByHash(ctx context.Context, hash string) (*Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, s.sql(qTokenByHash), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: token: %w", err)
	}
	return t, nil
}

// TokenByID returns a token by its id, revoked or not (RevokedAt says),
// for the server to resolve a session's token.
func (s *db) TokenByID(ctx context.Context, id string) (*Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, s.sql(qTokenByID), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: token %s: %w", id, err)
	}
	return t, nil
}

// Tokens implements Store, oldest first, revoked ones included.
func (s *db) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.r.QueryContext(ctx, s.sql(qTokens))
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements Store. Revoking a revoked token changes nothing;
// an unknown id is ErrNotFound.
func (s *db) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.sql(qRevokeToken), millis(at), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var revoked sql.NullInt64
		if err := tx.QueryRowContext(ctx, s.sql(qTokenRevoked), id).Scan(&revoked); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("token %s: %w", id, ErrNotFound)
			}
			return err
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: revoke token %s: %w", id, err)
	}
	return nil
}

// PushesSince implements Store.
func (s *db) PushesSince(ctx context.Context, tokenID string, since time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, s.sql(qPushesSince), tokenID, millis(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pushes of token %s: %w", tokenID, err)
	}
	return n, nil
}

var (
	qPurgeSessions = q("DELETE FROM sessions WHERE expires_at <= ?")
	qInsertSession = q("INSERT INTO sessions (hash, token_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
	qSession       = q(`SELECT x.hash, x.token_id, x.csrf, x.created_at, x.expires_at
		FROM sessions x JOIN tokens t ON t.id = x.token_id
		WHERE x.hash = ? AND x.expires_at > ? AND t.revoked_at IS NULL`)
	qDeleteSession = q("DELETE FROM sessions WHERE hash = ?")
)

// CreateSession implements Store; expired sessions are purged on the way.
func (s *db) CreateSession(ctx context.Context, x *Session) error {
	if x == nil || x.Hash == "" || x.TokenID == "" || x.CSRF == "" {
		return fmt.Errorf("%w: a session needs a hash, a token and a CSRF token", ErrInvalid)
	}
	if x.CreatedAt.IsZero() {
		x.CreatedAt = now()
	}
	if !x.ExpiresAt.After(x.CreatedAt) {
		return fmt.Errorf("%w: session expires before it starts", ErrInvalid)
	}
	x.CreatedAt, x.ExpiresAt = fromMillis(millis(x.CreatedAt)), fromMillis(millis(x.ExpiresAt))
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.sql(qPurgeSessions), millis(x.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.sql(qInsertSession), x.Hash, x.TokenID, x.CSRF, millis(x.CreatedAt), millis(x.ExpiresAt))
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("session: %w", ErrExists)
	}
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// Session implements Store: expired sessions and those whose token was
// revoked are not found.
func (s *db) Session(ctx context.Context, hash string, at time.Time) (*Session, error) {
	var (
		x                Session
		created, expires int64
	)
	err := s.r.QueryRowContext(ctx, s.sql(qSession), hash, millis(at)).Scan(&x.Hash, &x.TokenID, &x.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	x.CreatedAt, x.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &x, nil
}

// DeleteSession implements Store; deleting a missing session is no error.
func (s *db) DeleteSession(ctx context.Context, hash string) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.sql(qDeleteSession), hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

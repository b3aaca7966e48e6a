// Package store keeps the portfolio server's state: systems, their pushed
// versions, threat lifecycles, review-board decisions, the audit log, API
// tokens and browser sessions. One SQL implementation serves SQLite
// (modernc.org/sqlite, the embedded default) and PostgreSQL (jackc/pgx);
// migrations are versioned and run at Open. Nothing the server needs to
// share between instances is held in memory.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors the server maps to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict: the system changed since the base version")
	ErrExists   = errors.New("already exists")
)

// Store is the persistence the server uses. Every method is safe for
// concurrent use, and every write is one transaction.
type Store interface {
	Close() error
	Dialect() string // "sqlite" or "postgres"
	Ping(ctx context.Context) error

	// Push records one pushed version. In one transaction it adds the
	// version (numbered latest+1), updates the system's row, the threat
	// lifecycles and the day's trend point, and appends a "push" audit
	// entry. When p.BaseVersion > 0 and the latest version differs it
	// returns ErrConflict. When every blob digest and the verdict equal the
	// latest version's, nothing is written and the latest is returned with
	// Unchanged set.
	Push(ctx context.Context, p *Push) (*PushResult, error)

	System(ctx context.Context, id string) (*System, error)
	ListSystems(ctx context.Context, f Filter) ([]System, int, error) // page, total matching
	Versions(ctx context.Context, systemID string) ([]Version, error) // newest first
	Version(ctx context.Context, systemID string, n int) (*Version, error)
	Blob(ctx context.Context, digest string) ([]byte, error) // uncompressed content

	// Exposed lists the open threats on every system's latest version whose
	// main or related technique is technique (or, with sub, one of its
	// sub-techniques).
	Exposed(ctx context.Context, technique string, sub bool) ([]Exposure, error)
	// Threats lists a system's current threat lifecycles.
	Threats(ctx context.Context, systemID string) ([]ThreatState, error)

	KPIs(ctx context.Context, now time.Time, w Windows) (*KPIs, error)
	Trend(ctx context.Context, since time.Time) ([]TrendPoint, error)
	HeatMap(ctx context.Context) ([]HeatCell, error)

	// ReviewQueue lists systems whose latest verdict is escalate and that
	// no decision covers (same threat set), oldest escalation first.
	ReviewQueue(ctx context.Context) ([]QueueItem, error)
	// Decide records a decision and its audit entry in one transaction.
	Decide(ctx context.Context, d *Decision) error
	Decisions(ctx context.Context, systemID string) ([]Decision, error) // newest first

	AppendAudit(ctx context.Context, e *AuditEntry) error
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) // newest first

	// BootstrapAdmin creates the first admin token when no token exists,
	// atomically (several instances may start at once). It reports whether
	// it created one.
	BootstrapAdmin(ctx context.Context, t *Token) (bool, error)
	CreateToken(ctx context.Context, t *Token) error // t.Hash set; ErrExists on a taken name
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// TokenByID returns a token by id, revoked or not (RevokedAt says):
	// how a session finds its token.
	TokenByID(ctx context.Context, id string) (*Token, error)
	Tokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// PushesSince counts the versions a token pushed at or after since.
	PushesSince(ctx context.Context, tokenID string, since time.Time) (int, error)

	CreateSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, hash string, now time.Time) (*Session, error) // ErrNotFound when expired
	DeleteSession(ctx context.Context, hash string) error
}

// Push is one version as the server accepts it: the raw files and the
// summary the server derived from them.
type Push struct {
	System      string
	Name        string
	Owner       string
	Criticality string
	Platforms   []string
	Tags        []string

	At          time.Time
	TokenID     string
	By          string // the token's name
	BaseVersion int    // optimistic concurrency; 0 = none
	File        string // the model's path in its repository
	ToolVersion string

	// Raw content, stored compressed and de-duplicated by sha256; nil
	// when not pushed.
	Model, Analysis, Gap, Gate, Evidence, Review []byte

	Summary Summary
	Threats []Threat
}

// Summary is what the portfolio views need from one version.
type Summary struct {
	Threats      int
	OpenCritical int // open or in-progress threats by residual severity
	OpenHigh     int
	OpenMedium   int
	OpenLow      int
	RiskScore    int    // sum of open residual scores
	MaxSeverity  string // highest open residual severity, "" when none
	Verdict      string // gate verdict: pass | fail | escalate ("" when not gated)
	Policy       string
	ThreatSet    string
	Stale        bool               // the gate found the model stale (digests, review)
	ReviewedAt   string             // YYYY-MM-DD of the last review, "" when never
	EvidenceAt   string             // YYYY-MM-DD of the newest red-team result, "" when none
	RMF          map[string]float64 // GOVERN, MAP, MEASURE, MANAGE coverage 0..1
}

// Threat is one threat of a pushed version.
type Threat struct {
	ID            string
	Rule          string
	Title         string
	Element       string
	Technique     string
	Related       []string // other techniques
	Tactics       []string
	Severity      string // inherent
	Residual      string // residual severity
	ResidualScore int
	Status        string // open | mitigated | accepted | false-positive | in-progress
	Until         string // acceptance expiry, YYYY-MM-DD
}

// PushResult says which version a push became.
type PushResult struct {
	System    string
	Version   int
	Unchanged bool
	At        time.Time
}

// System is a system's row: identity and its latest version's summary.
type System struct {
	ID          string
	Name        string
	Owner       string
	Criticality string
	Platforms   []string
	Tags        []string
	Latest      int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// EscalatedSince is when the current escalation began (zero when the
	// latest verdict is not escalate).
	EscalatedSince time.Time
	Summary        Summary
}

// Version is one pushed version; the blob fields are sha256 digests.
type Version struct {
	System      string
	Version     int
	At          time.Time
	TokenID     string
	By          string
	File        string
	ToolVersion string
	ModelDigest string // sha256 of the model file

	Model, Analysis, Gap, Gate, Evidence, Review string // blob digests, "" when absent

	Summary Summary
}

// Filter selects systems. Empty fields match everything.
type Filter struct {
	Query       string // substring of id or name
	Owner       string
	Criticality string
	Platform    string
	Severity    string // at least this open residual severity
	Verdict     string
	Stale       *bool
	Sort        string // "risk" (default: risk score, descending), "name", "updated"
	Limit       int    // default 50, at most 500
	Offset      int
}

// Exposure is one system exposed to a technique.
type Exposure struct {
	System    string
	Name      string
	Owner     string
	Version   int
	Threat    string
	Title     string
	Element   string
	Technique string
	Residual  string
	Status    string
}

// ThreatState is one threat's lifecycle on one system.
type ThreatState struct {
	Threat
	FirstSeen    time.Time
	FirstVersion int
	LastVersion  int
	ResolvedAt   time.Time // zero while unresolved
}

// Windows are the KPI freshness windows.
type Windows struct {
	Review   time.Duration // a review older than this is out of date (default 90 days)
	Evidence time.Duration // red-team evidence older than this is not fresh (default 90 days)
	Expiring time.Duration // acceptances expiring within this (default 30 days)
}

// KPIs are the portfolio indicators.
type KPIs struct {
	At                  time.Time
	Systems             int
	UpToDate            int // reviewed within the window and not stale
	UpToDatePct         float64
	OpenCritical        int
	OpenHigh            int
	PerOwner            []OwnerRisk
	Mitigated           int                // resolved threats measured
	MeanTimeToMitigate  float64            // hours
	P90TimeToMitigate   float64            // hours
	RMF                 map[string]float64 // mean coverage per function
	AcceptedExpiring    int
	FreshEvidence       int
	FreshEvidencePct    float64
	EscalationsWaiting  int
	OldestEscalationAge float64 // hours
	MeanEscalationAge   float64 // hours
}

// OwnerRisk is one owner's open critical and high residual risks.
type OwnerRisk struct {
	Owner    string
	Systems  int
	Critical int
	High     int
}

// TrendPoint is the portfolio at the end of one day.
type TrendPoint struct {
	Day          string // YYYY-MM-DD
	Systems      int
	OpenCritical int
	OpenHigh     int
	Escalated    int
}

// HeatCell counts systems by criticality and highest open residual severity.
type HeatCell struct {
	Criticality string
	Severity    string // "" = no open threat
	Systems     int
}

// QueueItem is one escalation waiting for the board.
type QueueItem struct {
	System    System
	Version   int
	Since     time.Time
	PushedBy  string
	ThreatSet string
}

// Decision is a review-board decision on one system's escalation.
type Decision struct {
	ID         int64
	System     string
	Version    int
	ThreatSet  string
	Decision   string // approved | rejected | changes-requested
	By         string // the reviewer token's name
	TokenID    string
	At         time.Time
	Until      string // YYYY-MM-DD, approvals only
	Conditions []string
	Comment    string
}

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	ID      int64
	At      time.Time
	Actor   string // token name, "system" for the server itself
	TokenID string
	Action  string // push, decide, token.create, token.revoke, login, logout, bootstrap
	System  string
	Detail  string // JSON object, never a secret
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	System string
	Action string
	Since  time.Time
	Before int64 // entries with ID below this (paging); 0 = newest
	Limit  int   // default 100, at most 1000
}

// Roles, weakest first.
const (
	RoleViewer    = "viewer"
	RoleSubmitter = "submitter"
	RoleReviewer  = "reviewer"
	RoleAdmin     = "admin"
)

// Token is an API token; only its sha256 is stored.
type Token struct {
	ID        string
	Name      string
	Role      string
	Owner     string // submitter scope: systems of this owner
	System    string // submitter scope: this one system
	Hash      string // hex sha256 of the secret
	CreatedAt time.Time
	CreatedBy string
	RevokedAt time.Time // zero while valid
}

// Session is a browser session; only the cookie's sha256 is stored.
type Session struct {
	Hash      string
	TokenID   string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Package api holds the JSON bodies of the portfolio server's HTTP API,
// shared by the server and by the CLI's client (push, gate --server).
package api

import "encoding/json"

// PushRequest is the body of POST /api/v1/push: one system model with what
// the pipeline computed for it.
type PushRequest struct {
	File        string          `json:"file"`               // the model's path in its repository
	Model       string          `json:"model"`              // the model file's YAML text
	Analysis    json.RawMessage `json:"analysis"`           // analyze --format json
	Gap         json.RawMessage `json:"gap,omitempty"`      // gap --format json
	Gate        json.RawMessage `json:"gate,omitempty"`     // one gate result (gate --format json's results[i])
	Evidence    string          `json:"evidence,omitempty"` // the evidence file's YAML text
	Review      json.RawMessage `json:"review,omitempty"`   // the signed review record
	ToolVersion string          `json:"tool_version"`
	BaseVersion int             `json:"base_version,omitempty"` // 409 when the latest version differs
}

// PushResponse answers a push.
type PushResponse struct {
	System    string `json:"system"`
	Version   int    `json:"version"`
	Unchanged bool   `json:"unchanged"`
	Verdict   string `json:"verdict,omitempty"`
	Escalated bool   `json:"escalated"`
	URL       string `json:"url"` // the system's page
}

// Decision is a review-board decision, as posted to
// POST /api/v1/systems/{id}/decisions and listed by GET on the same path.
type Decision struct {
	ID         int64    `json:"id,omitempty"`
	System     string   `json:"system,omitempty"`
	Version    int      `json:"version,omitempty"`
	ThreatSet  string   `json:"threat_set,omitempty"` // default: the latest version's
	Decision   string   `json:"decision"`             // approved | rejected | changes-requested
	By         string   `json:"by,omitempty"`
	Date       string   `json:"date,omitempty"`  // YYYY-MM-DD
	At         string   `json:"at,omitempty"`    // RFC 3339
	Until      string   `json:"until,omitempty"` // YYYY-MM-DD; required for approved
	Conditions []string `json:"conditions,omitempty"`
	Comment    string   `json:"comment,omitempty"`
}

// Error is every error body.
type Error struct {
	Error string `json:"error"`
	// Diagnostics lists the problems of a rejected model, one
	// "file:line:col: severity: message" each.
	Diagnostics []string `json:"diagnostics,omitempty"`
}

// The types below answer the read endpoints. Times are RFC 3339 in UTC,
// dates YYYY-MM-DD; an empty string means "never".

// Summary is what the portfolio views show of one version.
type Summary struct {
	Threats      int                `json:"threats"`
	OpenCritical int                `json:"open_critical"`
	OpenHigh     int                `json:"open_high"`
	OpenMedium   int                `json:"open_medium"`
	OpenLow      int                `json:"open_low"`
	RiskScore    int                `json:"risk_score"`
	MaxSeverity  string             `json:"max_severity,omitempty"`
	Verdict      string             `json:"verdict,omitempty"`
	Policy       string             `json:"policy,omitempty"`
	ThreatSet    string             `json:"threat_set,omitempty"`
	Stale        bool               `json:"stale"`
	ReviewedAt   string             `json:"reviewed_at,omitempty"`
	EvidenceAt   string             `json:"evidence_at,omitempty"`
	RMF          map[string]float64 `json:"rmf,omitempty"`
}

// System is one system with its latest version's summary.
type System struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Owner          string   `json:"owner,omitempty"`
	Criticality    string   `json:"criticality,omitempty"`
	Platforms      []string `json:"platforms"`
	Tags           []string `json:"tags"`
	Latest         int      `json:"latest"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
	EscalatedSince string   `json:"escalated_since,omitempty"`
	Summary        Summary  `json:"summary"`
}

// SystemList is one page of GET /api/v1/systems.
type SystemList struct {
	Total   int      `json:"total"` // systems matching the filter
	Limit   int      `json:"limit"`
	Offset  int      `json:"offset"`
	Systems []System `json:"systems"`
}

// SystemDetail is GET /api/v1/systems/{id}: the system and its threats'
// lifecycles.
type SystemDetail struct {
	System
	Threats []ThreatState `json:"threats"`
}

// Threat is one threat of a version.
type Threat struct {
	ID            string   `json:"id"`
	Rule          string   `json:"rule"`
	Title         string   `json:"title"`
	Element       string   `json:"element"`
	Technique     string   `json:"technique"`
	Related       []string `json:"related"`
	Tactics       []string `json:"tactics"`
	Severity      string   `json:"severity"` // inherent
	Residual      string   `json:"residual"` // residual severity
	ResidualScore int      `json:"residual_score"`
	Status        string   `json:"status"`
	Until         string   `json:"until,omitempty"`
}

// ThreatState is a threat's lifecycle on one system.
type ThreatState struct {
	Threat
	FirstSeen    string `json:"first_seen"`
	FirstVersion int    `json:"first_version"`
	LastVersion  int    `json:"last_version"`
	ResolvedAt   string `json:"resolved_at,omitempty"`
}

// Version is one pushed version. The content fields are filled only when
// asked for with ?include=.
type Version struct {
	System      string            `json:"system"`
	Version     int               `json:"version"`
	At          string            `json:"at"`
	By          string            `json:"by"`
	File        string            `json:"file"`
	ToolVersion string            `json:"tool_version,omitempty"`
	ModelSHA256 string            `json:"model_sha256"`
	Digests     map[string]string `json:"digests"` // content name -> sha256 of what was pushed
	Summary     Summary           `json:"summary"`

	Model    string          `json:"model,omitempty"`
	Analysis json.RawMessage `json:"analysis,omitempty"`
	Gap      json.RawMessage `json:"gap,omitempty"`
	Gate     json.RawMessage `json:"gate,omitempty"`
	Evidence string          `json:"evidence,omitempty"`
	Review   json.RawMessage `json:"review,omitempty"`
}

// Exposure is one open threat of one system exposed to a technique.
type Exposure struct {
	System    string `json:"system"`
	Name      string `json:"name"`
	Owner     string `json:"owner,omitempty"`
	Version   int    `json:"version"`
	Threat    string `json:"threat"`
	Title     string `json:"title"`
	Element   string `json:"element"`
	Technique string `json:"technique"`
	Residual  string `json:"residual"`
	Status    string `json:"status"`
}

// ExposureList answers GET /api/v1/threats.
type ExposureList struct {
	Technique string     `json:"technique"`
	Name      string     `json:"name,omitempty"` // the technique's ATLAS name
	Sub       bool       `json:"sub"`            // sub-techniques included
	Systems   int        `json:"systems"`        // distinct systems exposed
	Exposures []Exposure `json:"exposures"`
}

// KPIs are the portfolio indicators of GET /api/v1/kpis.
type KPIs struct {
	At                  string             `json:"at"`
	Systems             int                `json:"systems"`
	UpToDate            int                `json:"up_to_date"`
	UpToDateRatio       float64            `json:"up_to_date_ratio"`
	OpenCritical        int                `json:"open_critical"`
	OpenHigh            int                `json:"open_high"`
	PerOwner            []OwnerRisk        `json:"per_owner"`
	Mitigated           int                `json:"mitigated"`
	MeanTimeToMitigate  float64            `json:"mean_time_to_mitigate_hours"`
	P90TimeToMitigate   float64            `json:"p90_time_to_mitigate_hours"`
	RMF                 map[string]float64 `json:"rmf_coverage"`
	AcceptedExpiring    int                `json:"accepted_expiring"`
	FreshEvidence       int                `json:"fresh_evidence"`
	FreshEvidenceRatio  float64            `json:"fresh_evidence_ratio"`
	EscalationsWaiting  int                `json:"escalations_waiting"`
	OldestEscalationAge float64            `json:"oldest_escalation_age_hours"`
	MeanEscalationAge   float64            `json:"mean_escalation_age_hours"`
}

// OwnerRisk is one owner's open critical and high residual risks.
type OwnerRisk struct {
	Owner    string `json:"owner"`
	Systems  int    `json:"systems"`
	Critical int    `json:"critical"`
	High     int    `json:"high"`
}

// QueueItem is one escalation waiting for the review board.
type QueueItem struct {
	System    System  `json:"system"`
	Version   int     `json:"version"`
	Since     string  `json:"since"`
	AgeHours  float64 `json:"age_hours"`
	PushedBy  string  `json:"pushed_by"`
	ThreatSet string  `json:"threat_set"`
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID      int64           `json:"id"`
	At      string          `json:"at"`
	Actor   string          `json:"actor"`
	TokenID string          `json:"token_id,omitempty"`
	Action  string          `json:"action"`
	System  string          `json:"system,omitempty"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name   string `json:"name"`
	Role   string `json:"role"`             // viewer | submitter | reviewer | admin
	Owner  string `json:"owner,omitempty"`  // submitter scope: systems of this owner
	System string `json:"system,omitempty"` // submitter scope: this one system
}

// Token describes an API token; its secret is never listed.
type Token struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Owner     string `json:"owner,omitempty"`
	System    string `json:"system,omitempty"`
	CreatedAt string `json:"created_at"`
	CreatedBy string `json:"created_by,omitempty"`
	RevokedAt string `json:"revoked_at,omitempty"`
}

// TokenCreated answers POST /api/v1/tokens: the only time the secret is
// shown.
type TokenCreated struct {
	Token
	Secret string `json:"token"`
}

// Health answers /healthz and /readyz.
type Health struct {
	Status string `json:"status"` // ok | unavailable
	Error  string `json:"error,omitempty"`
}

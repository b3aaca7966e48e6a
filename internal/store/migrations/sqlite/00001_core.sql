-- Core tables: systems and their versions, de-duplicated blobs, threat
-- lifecycles, review-board decisions, the append-only audit log, API tokens
-- and browser sessions. Times are unix milliseconds (UTC); dates are
-- YYYY-MM-DD text; lists are JSON arrays of strings.

-- +goose Up
CREATE TABLE systems (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL DEFAULT '',
    owner           TEXT    NOT NULL DEFAULT '',
    criticality     TEXT    NOT NULL DEFAULT '',
    platforms       TEXT    NOT NULL DEFAULT '[]',
    tags            TEXT    NOT NULL DEFAULT '[]',
    latest          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    escalated_since INTEGER,
    threats         INTEGER NOT NULL DEFAULT 0,
    open_critical   INTEGER NOT NULL DEFAULT 0,
    open_high       INTEGER NOT NULL DEFAULT 0,
    open_medium     INTEGER NOT NULL DEFAULT 0,
    open_low        INTEGER NOT NULL DEFAULT 0,
    risk_score      INTEGER NOT NULL DEFAULT 0,
    max_severity    TEXT    NOT NULL DEFAULT '',
    severity_rank   INTEGER NOT NULL DEFAULT 0,
    verdict         TEXT    NOT NULL DEFAULT '',
    policy          TEXT    NOT NULL DEFAULT '',
    threat_set      TEXT    NOT NULL DEFAULT '',
    stale           INTEGER NOT NULL DEFAULT 0,
    reviewed_at     TEXT    NOT NULL DEFAULT '',
    evidence_at     TEXT    NOT NULL DEFAULT '',
    rmf_govern      REAL,
    rmf_map         REAL,
    rmf_measure     REAL,
    rmf_manage      REAL
);

CREATE TABLE system_platforms (
    platform  TEXT NOT NULL,
    system_id TEXT NOT NULL REFERENCES systems (id),
    PRIMARY KEY (platform, system_id)
) WITHOUT ROWID;

CREATE TABLE blobs (
    digest TEXT    PRIMARY KEY, -- hex sha256 of the uncompressed content
    size   INTEGER NOT NULL,    -- uncompressed size
    data   BLOB    NOT NULL     -- gzip
);

CREATE TABLE versions (
    system_id      TEXT    NOT NULL REFERENCES systems (id),
    version        INTEGER NOT NULL,
    pushed_at      INTEGER NOT NULL,
    token_id       TEXT    NOT NULL DEFAULT '',
    pushed_by      TEXT    NOT NULL DEFAULT '',
    file           TEXT    NOT NULL DEFAULT '',
    tool_version   TEXT    NOT NULL DEFAULT '',
    model_digest   TEXT    NOT NULL DEFAULT '',
    blob_model     TEXT    NOT NULL DEFAULT '',
    blob_analysis  TEXT    NOT NULL DEFAULT '',
    blob_gap       TEXT    NOT NULL DEFAULT '',
    blob_gate      TEXT    NOT NULL DEFAULT '',
    blob_evidence  TEXT    NOT NULL DEFAULT '',
    blob_review    TEXT    NOT NULL DEFAULT '',
    threats        INTEGER NOT NULL DEFAULT 0,
    open_critical  INTEGER NOT NULL DEFAULT 0,
    open_high      INTEGER NOT NULL DEFAULT 0,
    open_medium    INTEGER NOT NULL DEFAULT 0,
    open_low       INTEGER NOT NULL DEFAULT 0,
    risk_score     INTEGER NOT NULL DEFAULT 0,
    max_severity   TEXT    NOT NULL DEFAULT '',
    severity_rank  INTEGER NOT NULL DEFAULT 0,
    verdict        TEXT    NOT NULL DEFAULT '',
    policy         TEXT    NOT NULL DEFAULT '',
    threat_set     TEXT    NOT NULL DEFAULT '',
    stale          INTEGER NOT NULL DEFAULT 0,
    reviewed_at    TEXT    NOT NULL DEFAULT '',
    evidence_at    TEXT    NOT NULL DEFAULT '',
    rmf_govern     REAL,
    rmf_map        REAL,
    rmf_measure    REAL,
    rmf_manage     REAL,
    PRIMARY KEY (system_id, version)
);

CREATE TABLE threats (
    system_id      TEXT    NOT NULL REFERENCES systems (id),
    threat_id      TEXT    NOT NULL,
    rule           TEXT    NOT NULL DEFAULT '',
    title          TEXT    NOT NULL DEFAULT '',
    element        TEXT    NOT NULL DEFAULT '',
    technique      TEXT    NOT NULL DEFAULT '',
    related        TEXT    NOT NULL DEFAULT '[]',
    tactics        TEXT    NOT NULL DEFAULT '[]',
    severity       TEXT    NOT NULL DEFAULT '',
    residual       TEXT    NOT NULL DEFAULT '',
    residual_score INTEGER NOT NULL DEFAULT 0,
    status         TEXT    NOT NULL DEFAULT 'open',
    until          TEXT    NOT NULL DEFAULT '',
    first_seen     INTEGER NOT NULL,
    first_version  INTEGER NOT NULL,
    last_version   INTEGER NOT NULL,
    resolved_at    INTEGER,          -- NULL while unresolved
    resolved_ms    INTEGER,          -- time to mitigate; NULL when not measured
    PRIMARY KEY (system_id, threat_id)
);

CREATE TABLE decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id  TEXT    NOT NULL REFERENCES systems (id),
    version    INTEGER NOT NULL,
    threat_set TEXT    NOT NULL DEFAULT '',
    decision   TEXT    NOT NULL,
    decided_by TEXT    NOT NULL DEFAULT '',
    token_id   TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL,
    until      TEXT    NOT NULL DEFAULT '',
    conditions TEXT    NOT NULL DEFAULT '[]',
    comment    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX decisions_threat_set ON decisions (system_id, threat_set);

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL DEFAULT '',
    token_id  TEXT    NOT NULL DEFAULT '',
    action    TEXT    NOT NULL,
    system_id TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT '{}'
);

-- +goose StatementBegin
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd

CREATE TABLE tokens (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    owner      TEXT    NOT NULL DEFAULT '',
    system_id  TEXT    NOT NULL DEFAULT '',
    hash       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL DEFAULT '',
    revoked_at INTEGER
);

CREATE TABLE sessions (
    hash       TEXT    PRIMARY KEY,
    token_id   TEXT    NOT NULL REFERENCES tokens (id),
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE sessions;
DROP TABLE tokens;
DROP TABLE audit;
DROP TABLE decisions;
DROP TABLE threats;
DROP TABLE versions;
DROP TABLE blobs;
DROP TABLE system_platforms;
DROP TABLE systems;

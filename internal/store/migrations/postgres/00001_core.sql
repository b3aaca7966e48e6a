-- Core tables: systems and their versions, de-duplicated blobs, threat
-- lifecycles, review-board decisions, the append-only audit log, API tokens
-- and browser sessions. Times are unix milliseconds (UTC, BIGINT); dates are
-- YYYY-MM-DD text; lists are JSON arrays of strings.

-- +goose Up
CREATE TABLE systems (
    id              TEXT COLLATE "C" PRIMARY KEY,
    name            TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner           TEXT COLLATE "C" NOT NULL DEFAULT '',
    criticality     TEXT COLLATE "C" NOT NULL DEFAULT '',
    platforms       TEXT    NOT NULL DEFAULT '[]',
    tags            TEXT    NOT NULL DEFAULT '[]',
    latest          INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    escalated_since BIGINT,
    threats         INTEGER NOT NULL DEFAULT 0,
    open_critical   INTEGER NOT NULL DEFAULT 0,
    open_high       INTEGER NOT NULL DEFAULT 0,
    open_medium     INTEGER NOT NULL DEFAULT 0,
    open_low        INTEGER NOT NULL DEFAULT 0,
    risk_score      INTEGER NOT NULL DEFAULT 0,
    max_severity    TEXT COLLATE "C" NOT NULL DEFAULT '',
    severity_rank   INTEGER NOT NULL DEFAULT 0,
    verdict         TEXT COLLATE "C" NOT NULL DEFAULT '',
    policy          TEXT    NOT NULL DEFAULT '',
    threat_set      TEXT COLLATE "C" NOT NULL DEFAULT '',
    stale           INTEGER NOT NULL DEFAULT 0,
    reviewed_at     TEXT COLLATE "C" NOT NULL DEFAULT '',
    evidence_at     TEXT COLLATE "C" NOT NULL DEFAULT '',
    rmf_govern      DOUBLE PRECISION,
    rmf_map         DOUBLE PRECISION,
    rmf_measure     DOUBLE PRECISION,
    rmf_manage      DOUBLE PRECISION
);

CREATE TABLE system_platforms (
    platform  TEXT COLLATE "C" NOT NULL,
    system_id TEXT COLLATE "C" NOT NULL REFERENCES systems (id),
    PRIMARY KEY (platform, system_id)
);

CREATE TABLE blobs (
    digest TEXT COLLATE "C" PRIMARY KEY, -- hex sha256 of the uncompressed content
    size   BIGINT  NOT NULL,    -- uncompressed size
    data   BYTEA   NOT NULL     -- gzip
);

CREATE TABLE versions (
    system_id      TEXT COLLATE "C" NOT NULL REFERENCES systems (id),
    version        INTEGER NOT NULL,
    pushed_at      BIGINT  NOT NULL,
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
    max_severity   TEXT COLLATE "C" NOT NULL DEFAULT '',
    severity_rank  INTEGER NOT NULL DEFAULT 0,
    verdict        TEXT COLLATE "C" NOT NULL DEFAULT '',
    policy         TEXT    NOT NULL DEFAULT '',
    threat_set     TEXT COLLATE "C" NOT NULL DEFAULT '',
    stale          INTEGER NOT NULL DEFAULT 0,
    reviewed_at    TEXT COLLATE "C" NOT NULL DEFAULT '',
    evidence_at    TEXT COLLATE "C" NOT NULL DEFAULT '',
    rmf_govern     DOUBLE PRECISION,
    rmf_map        DOUBLE PRECISION,
    rmf_measure    DOUBLE PRECISION,
    rmf_manage     DOUBLE PRECISION,
    PRIMARY KEY (system_id, version)
);

CREATE TABLE threats (
    system_id      TEXT COLLATE "C" NOT NULL REFERENCES systems (id),
    threat_id      TEXT COLLATE "C" NOT NULL,
    rule           TEXT    NOT NULL DEFAULT '',
    title          TEXT    NOT NULL DEFAULT '',
    element        TEXT    NOT NULL DEFAULT '',
    technique      TEXT COLLATE "C" NOT NULL DEFAULT '',
    related        TEXT    NOT NULL DEFAULT '[]',
    tactics        TEXT    NOT NULL DEFAULT '[]',
    severity       TEXT    NOT NULL DEFAULT '',
    residual       TEXT    NOT NULL DEFAULT '',
    residual_score INTEGER NOT NULL DEFAULT 0,
    status         TEXT COLLATE "C" NOT NULL DEFAULT 'open',
    until          TEXT COLLATE "C" NOT NULL DEFAULT '',
    first_seen     BIGINT  NOT NULL,
    first_version  INTEGER NOT NULL,
    last_version   INTEGER NOT NULL,
    resolved_at    BIGINT,          -- NULL while unresolved
    resolved_ms    BIGINT,          -- time to mitigate; NULL when not measured
    PRIMARY KEY (system_id, threat_id)
);

CREATE TABLE decisions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id  TEXT COLLATE "C" NOT NULL REFERENCES systems (id),
    version    INTEGER NOT NULL,
    threat_set TEXT COLLATE "C" NOT NULL DEFAULT '',
    decision   TEXT    NOT NULL,
    decided_by TEXT    NOT NULL DEFAULT '',
    token_id   TEXT    NOT NULL DEFAULT '',
    at         BIGINT  NOT NULL,
    until      TEXT COLLATE "C" NOT NULL DEFAULT '',
    conditions TEXT    NOT NULL DEFAULT '[]',
    comment    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX decisions_threat_set ON decisions (system_id, threat_set);

CREATE TABLE audit (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL DEFAULT '',
    token_id  TEXT    NOT NULL DEFAULT '',
    action    TEXT COLLATE "C" NOT NULL,
    system_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT '{}'
);

-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

CREATE TABLE tokens (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    owner      TEXT COLLATE "C" NOT NULL DEFAULT '',
    system_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    hash       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    created_by TEXT    NOT NULL DEFAULT '',
    revoked_at BIGINT 
);

CREATE TABLE sessions (
    hash       TEXT COLLATE "C" PRIMARY KEY,
    token_id   TEXT COLLATE "C" NOT NULL REFERENCES tokens (id),
    csrf       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE sessions;
DROP TABLE tokens;
DROP TABLE audit;
DROP FUNCTION audit_append_only();
DROP TABLE decisions;
DROP TABLE threats;
DROP TABLE versions;
DROP TABLE blobs;
DROP TABLE system_platforms;
DROP TABLE systems;

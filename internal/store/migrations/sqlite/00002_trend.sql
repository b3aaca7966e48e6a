-- Derived tables kept up to date by each push (running totals, the daily
-- trend, the technique index for exposure look-ups) and the indexes the
-- portfolio views use. Existing data is backfilled; internal/store/load.go
-- holds the same rebuild statements (keep them in sync).

-- +goose Up
CREATE TABLE totals (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    systems         INTEGER NOT NULL DEFAULT 0,
    open_critical   INTEGER NOT NULL DEFAULT 0,
    open_high       INTEGER NOT NULL DEFAULT 0,
    escalated       INTEGER NOT NULL DEFAULT 0,
    resolved_count  INTEGER NOT NULL DEFAULT 0, -- threats with a measured time to mitigate
    resolved_ms_sum INTEGER NOT NULL DEFAULT 0
);

-- Per owner, the same running totals, and the RMF coverage sums in
-- millionths (integers, so that adding and removing stays exact).
CREATE TABLE owner_totals (
    owner         TEXT    PRIMARY KEY,
    systems       INTEGER NOT NULL DEFAULT 0,
    open_critical INTEGER NOT NULL DEFAULT 0,
    open_high     INTEGER NOT NULL DEFAULT 0,
    govern_sum    INTEGER NOT NULL DEFAULT 0,
    govern_n      INTEGER NOT NULL DEFAULT 0,
    map_sum       INTEGER NOT NULL DEFAULT 0,
    map_n         INTEGER NOT NULL DEFAULT 0,
    measure_sum   INTEGER NOT NULL DEFAULT 0,
    measure_n     INTEGER NOT NULL DEFAULT 0,
    manage_sum    INTEGER NOT NULL DEFAULT 0,
    manage_n      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE trend (
    day           TEXT    PRIMARY KEY, -- YYYY-MM-DD (UTC)
    systems       INTEGER NOT NULL,
    open_critical INTEGER NOT NULL,
    open_high     INTEGER NOT NULL,
    escalated     INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per technique (main or related) of every unresolved threat,
-- with what an exposure lists, so that a look-up is one index range.
CREATE TABLE threat_techniques (
    technique        TEXT NOT NULL,
    system_id        TEXT NOT NULL,
    threat_id        TEXT NOT NULL,
    system_name      TEXT NOT NULL DEFAULT '',
    owner            TEXT NOT NULL DEFAULT '',
    version          INTEGER NOT NULL DEFAULT 0,
    title            TEXT NOT NULL DEFAULT '',
    element          TEXT NOT NULL DEFAULT '',
    threat_technique TEXT NOT NULL DEFAULT '',
    residual         TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (technique, system_id, threat_id)
) WITHOUT ROWID;
CREATE INDEX threat_techniques_system ON threat_techniques (system_id);

CREATE INDEX systems_owner ON systems (owner);
CREATE INDEX systems_risk ON systems (risk_score DESC, id);
CREATE INDEX systems_name ON systems (name, id);
CREATE INDEX systems_updated ON systems (updated_at DESC, id);
CREATE INDEX systems_escalated ON systems (escalated_since, id, threat_set) WHERE verdict = 'escalate';
CREATE INDEX systems_reviewed ON systems (stale, reviewed_at);
CREATE INDEX systems_evidence ON systems (evidence_at);
CREATE INDEX systems_heat ON systems (criticality, max_severity);
CREATE INDEX versions_token ON versions (token_id, pushed_at);
CREATE INDEX threats_resolved_ms ON threats (resolved_ms) WHERE resolved_ms IS NOT NULL;
CREATE INDEX threats_accepted ON threats (until) WHERE status = 'accepted' AND resolved_at IS NULL;
CREATE INDEX audit_system ON audit (system_id, id);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX sessions_expires ON sessions (expires_at);

INSERT INTO threat_techniques (technique, system_id, threat_id, system_name, owner, version, title, element,
    threat_technique, residual, status)
SELECT k.technique, t.system_id, t.threat_id, s.name, s.owner, s.latest, t.title, t.element, t.technique, t.residual, t.status
  FROM (SELECT technique, system_id, threat_id FROM threats
         WHERE resolved_at IS NULL AND technique <> ''
        UNION
        SELECT j.value, t.system_id, t.threat_id FROM threats t, json_each(t.related) j
         WHERE t.resolved_at IS NULL AND j.value <> '') k
  JOIN threats t ON t.system_id = k.system_id AND t.threat_id = k.threat_id
  JOIN systems s ON s.id = t.system_id;

INSERT INTO totals (id, systems, open_critical, open_high, escalated, resolved_count, resolved_ms_sum)
SELECT 1,
       (SELECT COUNT(*) FROM systems),
       (SELECT COALESCE(SUM(open_critical), 0) FROM systems),
       (SELECT COALESCE(SUM(open_high), 0) FROM systems),
       (SELECT COUNT(*) FROM systems WHERE verdict = 'escalate'),
       (SELECT COUNT(*) FROM threats WHERE resolved_ms IS NOT NULL),
       (SELECT COALESCE(SUM(resolved_ms), 0) FROM threats WHERE resolved_ms IS NOT NULL);

INSERT INTO owner_totals (owner, systems, open_critical, open_high, govern_sum, govern_n, map_sum, map_n,
    measure_sum, measure_n, manage_sum, manage_n)
SELECT owner, COUNT(*), COALESCE(SUM(open_critical), 0), COALESCE(SUM(open_high), 0),
       COALESCE(SUM(CAST(ROUND(rmf_govern * 1000000) AS BIGINT)), 0), COUNT(rmf_govern),
       COALESCE(SUM(CAST(ROUND(rmf_map * 1000000) AS BIGINT)), 0), COUNT(rmf_map),
       COALESCE(SUM(CAST(ROUND(rmf_measure * 1000000) AS BIGINT)), 0), COUNT(rmf_measure),
       COALESCE(SUM(CAST(ROUND(rmf_manage * 1000000) AS BIGINT)), 0), COUNT(rmf_manage)
  FROM systems GROUP BY owner;

-- The trend replays the versions: each version contributes the change it
-- made to the portfolio's totals; the running sum at a day's last push is
-- that day's point.
INSERT INTO trend (day, systems, open_critical, open_high, escalated)
SELECT day, systems, open_critical, open_high, escalated FROM (
    SELECT day,
           SUM(d_sys) OVER w AS systems,
           SUM(d_crit) OVER w AS open_critical,
           SUM(d_high) OVER w AS open_high,
           SUM(d_esc) OVER w AS escalated,
           ROW_NUMBER() OVER (PARTITION BY day ORDER BY pushed_at DESC, system_id DESC, version DESC) AS rn
      FROM (
        SELECT strftime('%Y-%m-%d', pushed_at / 1000, 'unixepoch') AS day,
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
WHERE rn = 1;

-- +goose Down
DROP INDEX sessions_expires;
DROP INDEX audit_action;
DROP INDEX audit_system;
DROP INDEX threats_accepted;
DROP INDEX threats_resolved_ms;
DROP INDEX versions_token;
DROP INDEX systems_heat;
DROP INDEX systems_evidence;
DROP INDEX systems_reviewed;
DROP INDEX systems_escalated;
DROP INDEX systems_updated;
DROP INDEX systems_name;
DROP INDEX systems_risk;
DROP INDEX systems_owner;
DROP TABLE threat_techniques;
DROP TABLE trend;
DROP TABLE owner_totals;
DROP TABLE totals;

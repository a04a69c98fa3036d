-- Plimsoll store, SQLite dialect. Keep in step with ../postgres/0001_store.sql: same tables,
-- same columns, same constraints; only the types and the id columns differ.
-- Times are INTEGER milliseconds since the Unix epoch (UTC), given by the caller.
-- STRICT tables: SQLite then checks column types as PostgreSQL does.

CREATE TABLE feed_sources (
    name            TEXT PRIMARY KEY CHECK (name <> ''),
    kind            TEXT NOT NULL,
    -- Redacted before it is stored: no credentials in the database.
    url             TEXT NOT NULL,
    last_attempt_at INTEGER,
    last_success_at INTEGER,
    record_count    INTEGER NOT NULL DEFAULT 0,
    digest          TEXT,
    last_error      TEXT
) STRICT;

-- One OSV record per (source, id): a GHSA record appears in several per-ecosystem exports.
-- Withdrawn records are never stored.
CREATE TABLE advisories (
    source         TEXT NOT NULL REFERENCES feed_sources (name) ON DELETE CASCADE,
    id             TEXT NOT NULL CHECK (id <> ''),
    modified       TEXT,
    -- sha256 of `record`: a re-sync rewrites only the records that changed.
    content_digest TEXT NOT NULL,
    record         TEXT NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (source, id)
) STRICT;

-- One row per `affected[]` entry that names a package, for lookups by package.
CREATE TABLE affected (
    source      TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,
    ecosystem   TEXT NOT NULL CHECK (ecosystem <> ''),
    name        TEXT NOT NULL CHECK (name <> ''),
    -- The OSV `affected` object as JSON (ranges, versions, ecosystem_specific, ...).
    affected    TEXT NOT NULL,
    PRIMARY KEY (source, advisory_id, ordinal),
    FOREIGN KEY (source, advisory_id) REFERENCES advisories (source, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX affected_by_package ON affected (ecosystem, name);

-- When the advisories of a package last changed: which analyses must be matched again.
CREATE TABLE package_changes (
    ecosystem  TEXT NOT NULL,
    name       TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (ecosystem, name)
) STRICT;
CREATE INDEX package_changes_by_time ON package_changes (changed_at);

CREATE TABLE analyses (
    image_digest     TEXT PRIMARY KEY CHECK (image_digest <> ''),
    analyzer_version TEXT NOT NULL,
    -- sha256 of the uncompressed JSON: putting the same analysis again changes nothing.
    content_digest   TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    json_size        INTEGER NOT NULL,
    -- zstd-compressed JSON of the Analysis document.
    document         BLOB NOT NULL
) STRICT;

CREATE TABLE analysis_packages (
    image_digest TEXT NOT NULL REFERENCES analyses (image_digest) ON DELETE CASCADE,
    ecosystem    TEXT NOT NULL,
    name         TEXT NOT NULL,
    PRIMARY KEY (image_digest, ecosystem, name)
) STRICT;
CREATE INDEX analysis_packages_by_package ON analysis_packages (ecosystem, name);

-- No foreign key to analyses: first-seen times must outlive a re-analysis.
CREATE TABLE matches (
    image_digest      TEXT NOT NULL,
    vuln_id           TEXT NOT NULL,
    package_key       TEXT NOT NULL,
    first_seen_at     INTEGER NOT NULL,
    fix_first_seen_at INTEGER,
    last_seen_at      INTEGER NOT NULL,
    resolved_at       INTEGER,
    PRIMARY KEY (image_digest, vuln_id, package_key)
) STRICT;

CREATE TABLE evaluations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    image_digest  TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    final_action  TEXT NOT NULL CHECK (final_action IN ('stop', 'warn', 'go')),
    evaluated_at  INTEGER NOT NULL,
    result        TEXT NOT NULL
) STRICT;
CREATE INDEX evaluations_by_image ON evaluations (image_digest, evaluated_at);
CREATE TRIGGER evaluations_append_only BEFORE UPDATE ON evaluations
BEGIN
    SELECT RAISE(ABORT, 'evaluations are append-only');
END;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    sink            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    dead_at         INTEGER,
    last_error      TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;

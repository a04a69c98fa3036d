-- Plimsoll store, PostgreSQL dialect. Keep in step with ../sqlite/0001_store.sql: same tables,
-- same columns, same constraints; only the types and the id columns differ.
-- Times are BIGINT milliseconds since the Unix epoch (UTC), given by the caller.
-- JSON is TEXT, not JSONB: the store never queries inside it, and TEXT reads back without a
-- conversion (load_affected reads every row).

CREATE TABLE feed_sources (
    name            TEXT PRIMARY KEY CHECK (name <> ''),
    kind            TEXT NOT NULL,
    -- Redacted before it is stored: no credentials in the database.
    url             TEXT NOT NULL,
    last_attempt_at BIGINT,
    last_success_at BIGINT,
    record_count    BIGINT NOT NULL DEFAULT 0,
    digest          TEXT,
    last_error      TEXT
);

-- One OSV record per (source, id): a GHSA record appears in several per-ecosystem exports.
-- Withdrawn records are never stored.
CREATE TABLE advisories (
    source         TEXT NOT NULL REFERENCES feed_sources (name) ON DELETE CASCADE,
    id             TEXT NOT NULL CHECK (id <> ''),
    modified       TEXT,
    -- sha256 of `record`: a re-sync rewrites only the records that changed.
    content_digest TEXT NOT NULL,
    record         TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (source, id)
);

-- One row per `affected[]` entry that names a package, for lookups by package.
CREATE TABLE affected (
    source      TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    ordinal     BIGINT NOT NULL,
    ecosystem   TEXT NOT NULL CHECK (ecosystem <> ''),
    name        TEXT NOT NULL CHECK (name <> ''),
    -- The OSV `affected` object as JSON (ranges, versions, ecosystem_specific, ...).
    affected    TEXT NOT NULL,
    PRIMARY KEY (source, advisory_id, ordinal),
    FOREIGN KEY (source, advisory_id) REFERENCES advisories (source, id) ON DELETE CASCADE
);
CREATE INDEX affected_by_package ON affected (ecosystem, name);

-- When the advisories of a package last changed: which analyses must be matched again.
CREATE TABLE package_changes (
    ecosystem  TEXT NOT NULL,
    name       TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (ecosystem, name)
);
CREATE INDEX package_changes_by_time ON package_changes (changed_at);

CREATE TABLE analyses (
    image_digest     TEXT PRIMARY KEY CHECK (image_digest <> ''),
    analyzer_version TEXT NOT NULL,
    -- sha256 of the uncompressed JSON: putting the same analysis again changes nothing.
    content_digest   TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    json_size        BIGINT NOT NULL,
    -- zstd-compressed JSON of the Analysis document.
    document         BYTEA NOT NULL
);

CREATE TABLE analysis_packages (
    image_digest TEXT NOT NULL REFERENCES analyses (image_digest) ON DELETE CASCADE,
    ecosystem    TEXT NOT NULL,
    name         TEXT NOT NULL,
    PRIMARY KEY (image_digest, ecosystem, name)
);
CREATE INDEX analysis_packages_by_package ON analysis_packages (ecosystem, name);

-- No foreign key to analyses: first-seen times must outlive a re-analysis.
CREATE TABLE matches (
    image_digest      TEXT NOT NULL,
    vuln_id           TEXT NOT NULL,
    package_key       TEXT NOT NULL,
    first_seen_at     BIGINT NOT NULL,
    fix_first_seen_at BIGINT,
    last_seen_at      BIGINT NOT NULL,
    resolved_at       BIGINT,
    PRIMARY KEY (image_digest, vuln_id, package_key)
);

CREATE TABLE evaluations (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    image_digest  TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    final_action  TEXT NOT NULL CHECK (final_action IN ('stop', 'warn', 'go')),
    evaluated_at  BIGINT NOT NULL,
    result        TEXT NOT NULL
);
CREATE INDEX evaluations_by_image ON evaluations (image_digest, evaluated_at);
CREATE FUNCTION plimsoll_evaluations_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evaluations are append-only';
END
$$;
CREATE TRIGGER evaluations_append_only BEFORE UPDATE ON evaluations
    FOR EACH ROW EXECUTE FUNCTION plimsoll_evaluations_append_only();

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    sink            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    dead_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;

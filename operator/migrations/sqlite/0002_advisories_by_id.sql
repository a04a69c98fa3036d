-- `advisories_by_id` looks records up by id alone; the primary key (source, id) cannot serve
-- that, so every call scanned the table (measured by operator/examples/match_bench.rs: the
-- one-package-at-a-time path became 120x faster on SQLite and 18x on PostgreSQL with it).
CREATE INDEX advisories_id ON advisories (id);

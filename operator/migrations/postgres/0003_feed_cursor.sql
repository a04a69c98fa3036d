-- The newest `modified` time among the records a source's writes have held (RFC 3339, UTC),
-- set in the same transaction as the records. An OSV export source syncs incrementally from
-- it: `modified_id.csv` lines at or after it are fetched one record at a time instead of the
-- whole `all.zip`. NULL: never written, or no record carried a `modified` time.
ALTER TABLE feed_sources ADD COLUMN modified_cursor TEXT;

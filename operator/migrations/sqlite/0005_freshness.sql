-- What the operator last reported about each image's vulnerabilities (a JSON list of matches),
-- and when that changed: a feed change is diffed against it to notify `vuln_update` and
-- `fix_available`, and an ImageScan evaluated before `changed_at` is evaluated again.
CREATE TABLE vuln_snapshots (
    image_digest TEXT PRIMARY KEY,
    snapshot TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);
-- Named high-water marks of background work (e.g. the last feed change re-matched), so the
-- work resumes where it stopped after a restart.
CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
-- The SHA-256 of tokens the operator hands out for its own use (the CronJobs' token), so every
-- replica can check a request, not only the leader that made the token.
CREATE TABLE service_tokens (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL
);

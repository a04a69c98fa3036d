-- One row per analyzer Job the operator created: the hash of its upload token (the token itself
-- is only in the Job's Secret), what it resolved and how it ended. Scans find their Job's
-- result here after an operator restart; a token is good for one Job and one upload.
CREATE TABLE analyzer_jobs (
    namespace TEXT NOT NULL,
    job_name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    reference TEXT NOT NULL,
    force BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    digest TEXT,
    outcome TEXT,
    reason TEXT,
    message TEXT,
    upload_sha256 TEXT,
    finished_at BIGINT,
    PRIMARY KEY (namespace, job_name)
);

//! The schema, embedded in the binary: `operator/migrations/<dialect>/NNNN_name.sql`.
//!
//! Both dialects have the same numbered files (a test checks it); the SQL differs only where
//! the dialects force it (types, identity columns, trigger syntax). Migrations are forward-only
//! and never edited once released: sqlx stores a checksum of each applied file and refuses to
//! start when an applied file changed. Embedded with `include_str!` rather than sqlx's
//! `migrate!` macro, which would pull in the whole `sqlx-macros` build for one list.

use super::Backend;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};
use std::borrow::Cow;

/// (version, description, SQLite SQL, PostgreSQL SQL).
pub(super) const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "store",
        include_str!("../../migrations/sqlite/0001_store.sql"),
        include_str!("../../migrations/postgres/0001_store.sql"),
    ),
    (
        2,
        "advisories_by_id",
        include_str!("../../migrations/sqlite/0002_advisories_by_id.sql"),
        include_str!("../../migrations/postgres/0002_advisories_by_id.sql"),
    ),
    (
        3,
        "feed_cursor",
        include_str!("../../migrations/sqlite/0003_feed_cursor.sql"),
        include_str!("../../migrations/postgres/0003_feed_cursor.sql"),
    ),
    (
        4,
        "analyzer_jobs",
        include_str!("../../migrations/sqlite/0004_analyzer_jobs.sql"),
        include_str!("../../migrations/postgres/0004_analyzer_jobs.sql"),
    ),
    (
        5,
        "freshness",
        include_str!("../../migrations/sqlite/0005_freshness.sql"),
        include_str!("../../migrations/postgres/0005_freshness.sql"),
    ),
];

pub(super) fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql: &'static str = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn file_names(dialect: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dialect);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn both_dialects_have_the_same_migrations_and_all_are_embedded() {
        let sqlite = file_names("sqlite");
        let postgres = file_names("postgres");
        assert_eq!(
            sqlite, postgres,
            "migrations/sqlite and migrations/postgres"
        );
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|(v, d, _, _)| format!("{v:04}_{d}.sql"))
            .collect();
        assert_eq!(
            sqlite, embedded,
            "every file is listed in MIGRATIONS, in order"
        );
        for (i, (v, ..)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i64 + 1, "versions are 1, 2, 3, ...");
        }
    }

    #[test]
    fn both_dialects_create_the_same_tables() {
        let tables = |sql: &str| -> Vec<String> {
            sql.lines()
                .filter_map(|l| l.trim().strip_prefix("CREATE TABLE "))
                .filter_map(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
                .collect()
        };
        for (v, _, sqlite, postgres) in MIGRATIONS {
            assert_eq!(tables(sqlite), tables(postgres), "migration {v}");
        }
    }
}

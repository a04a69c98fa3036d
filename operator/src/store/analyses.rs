//! Analysis documents, one per image digest, and the packages each holds (as feeds name them),
//! so a feed change re-matches only the analyses it can affect.
//!
//! Documents are stored as zstd-compressed JSON (level 3), not text: analyses list every file
//! of the image, and nothing queries inside them. Measured on a real 324 MB image (98 packages,
//! 33 768 files): 6.9 MB of JSON stored in 1.5 MB (level 19 would give 1.27 MB for much more
//! CPU).
//! Putting the same document again is a no-op (compared by sha256 of the JSON), so an analyzer
//! Job that retries its upload changes nothing; a different document for the same digest (a
//! newer analyzer) replaces it. Matches are kept apart and survive the replacement.

use super::{
    Error, MAX_PARAMS, PackageRef, Pool, Result, Store, Timestamp, builder, query_err, sha256_hex,
    sqlite_pairs_query, with_pool,
};
use plimsoll_analyzer::model::Analysis;
use std::collections::BTreeSet;

/// Largest JSON document the store decompresses (a guard against a corrupted size column).
const MAX_JSON_SIZE: u64 = 1 << 30;
const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Inserted,
    /// The same document was already stored: nothing changed (not even `created_at`).
    Unchanged,
    /// Another document was stored for this digest and was replaced.
    Replaced,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnalysis {
    pub analysis: Analysis,
    pub analyzer_version: String,
    pub created_at: Timestamp,
}

/// What is known about a stored analysis without decompressing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisInfo {
    pub image_digest: String,
    pub analyzer_version: String,
    pub created_at: Timestamp,
    pub json_size: u64,
    pub stored_size: u64,
}

impl Store {
    /// Stores `analysis` under its manifest digest, with the packages it holds as feeds name
    /// them (the matcher's mapping, computed by the caller).
    pub async fn put_analysis(
        &self,
        analysis: &Analysis,
        packages: &[PackageRef],
        now: Timestamp,
    ) -> Result<PutOutcome> {
        const OP: &str = "put_analysis";
        let digest = analysis.image.manifest_digest.as_str();
        if digest.trim().is_empty() {
            return Err(Error::InvalidInput {
                op: OP,
                reason: "the analysis has no manifest digest".into(),
            });
        }
        let json = serde_json::to_vec(analysis).map_err(|e| Error::encode(OP, "analysis", e))?;
        let content_digest = sha256_hex(&json);
        let document = zstd::bulk::compress(&json, ZSTD_LEVEL)
            .map_err(|e| Error::encode(OP, "analysis (zstd)", e))?;
        let json_size = i64::try_from(json.len()).unwrap_or(i64::MAX);
        let version = analysis.analyzer.version.as_str();
        let packages: BTreeSet<&PackageRef> = packages.iter().collect();

        with_pool!(self, |pool, d| {
            let mut tx = pool
                .begin_with(d.begin_write())
                .await
                .map_err(query_err(OP))?;
            // Insert first: two replicas putting the same new digest then serialise on the
            // primary key instead of both inserting.
            let inserted = sqlx::query(
                "INSERT INTO analyses \
                 (image_digest, analyzer_version, content_digest, created_at, json_size, document) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (image_digest) DO NOTHING",
            )
            .bind(digest)
            .bind(version)
            .bind(content_digest.as_str())
            .bind(now.unix_millis())
            .bind(json_size)
            .bind(document.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(query_err(OP))?
            .rows_affected()
                == 1;
            let outcome = if inserted {
                PutOutcome::Inserted
            } else {
                let stored: String = sqlx::query_scalar(
                    "SELECT content_digest FROM analyses WHERE image_digest = $1",
                )
                .bind(digest)
                .fetch_one(&mut *tx)
                .await
                .map_err(query_err(OP))?;
                if stored == content_digest {
                    PutOutcome::Unchanged
                } else {
                    sqlx::query(
                        "UPDATE analyses SET analyzer_version = $2, content_digest = $3, \
                         created_at = $4, json_size = $5, document = $6 WHERE image_digest = $1",
                    )
                    .bind(digest)
                    .bind(version)
                    .bind(content_digest.as_str())
                    .bind(now.unix_millis())
                    .bind(json_size)
                    .bind(document.as_slice())
                    .execute(&mut *tx)
                    .await
                    .map_err(query_err(OP))?;
                    PutOutcome::Replaced
                }
            };

            let stored: Vec<(String, String)> = if inserted {
                Vec::new()
            } else {
                sqlx::query_as(
                    "SELECT ecosystem, name FROM analysis_packages WHERE image_digest = $1",
                )
                .bind(digest)
                .fetch_all(&mut *tx)
                .await
                .map_err(query_err(OP))?
            };
            let stored: BTreeSet<PackageRef> = stored
                .into_iter()
                .map(|(e, n)| PackageRef::new(e, n))
                .collect();
            if !stored.iter().eq(packages.iter().copied()) {
                sqlx::query("DELETE FROM analysis_packages WHERE image_digest = $1")
                    .bind(digest)
                    .execute(&mut *tx)
                    .await
                    .map_err(query_err(OP))?;
                let packages: Vec<&PackageRef> = packages.iter().copied().collect();
                for chunk in packages.chunks(MAX_PARAMS / 3) {
                    let mut qb = builder(
                        pool,
                        "INSERT INTO analysis_packages (image_digest, ecosystem, name) ",
                    );
                    qb.push_values(chunk, |mut row, p| {
                        row.push_bind(digest)
                            .push_bind(p.ecosystem.as_str())
                            .push_bind(p.name.as_str());
                    });
                    qb.build().execute(&mut *tx).await.map_err(query_err(OP))?;
                }
            }
            tx.commit().await.map_err(query_err(OP))?;
            Ok(outcome)
        })
    }

    pub async fn get_analysis(&self, image_digest: &str) -> Result<Option<StoredAnalysis>> {
        const OP: &str = "get_analysis";
        let row: Option<(String, i64, i64, Vec<u8>)> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT analyzer_version, created_at, json_size, document FROM analyses \
                 WHERE image_digest = $1",
            )
            .bind(image_digest)
            .fetch_optional(pool)
            .await
            .map_err(query_err(OP))?
        });
        let Some((analyzer_version, created_at, json_size, document)) = row else {
            return Ok(None);
        };
        let capacity = u64::try_from(json_size)
            .ok()
            .filter(|&n| n <= MAX_JSON_SIZE)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                Error::decode(OP, "analysis size", format!("implausible size {json_size}"))
            })?;
        let json = zstd::bulk::decompress(&document, capacity)
            .map_err(|e| Error::decode(OP, "analysis (zstd)", e))?;
        let analysis =
            serde_json::from_slice(&json).map_err(|e| Error::decode(OP, "analysis JSON", e))?;
        Ok(Some(StoredAnalysis {
            analysis,
            analyzer_version,
            created_at: Timestamp::from_unix_millis(created_at),
        }))
    }

    /// Whether (and by which analyzer) an image is analyzed, without reading the document.
    pub async fn analysis_info(&self, image_digest: &str) -> Result<Option<AnalysisInfo>> {
        const OP: &str = "analysis_info";
        let row: Option<(String, i64, i64, i64)> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT analyzer_version, created_at, json_size, \
                 CAST(length(document) AS BIGINT) FROM analyses WHERE image_digest = $1",
            )
            .bind(image_digest)
            .fetch_optional(pool)
            .await
            .map_err(query_err(OP))?
        });
        Ok(row.map(
            |(analyzer_version, created_at, json_size, stored)| AnalysisInfo {
                image_digest: image_digest.to_owned(),
                analyzer_version,
                created_at: Timestamp::from_unix_millis(created_at),
                json_size: u64::try_from(json_size).unwrap_or(0),
                stored_size: u64::try_from(stored).unwrap_or(0),
            },
        ))
    }

    /// Digests of the analyses holding any of `packages`, sorted.
    pub async fn analyses_touching(&self, packages: &[PackageRef]) -> Result<Vec<String>> {
        const OP: &str = "analyses_touching";
        let packages: Vec<&PackageRef> = packages
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut digests: BTreeSet<String> = BTreeSet::new();
        match &self.pool {
            Pool::Sqlite(pool) => {
                for chunk in packages.chunks(MAX_PARAMS / 2) {
                    let mut qb = sqlite_pairs_query(
                        pool,
                        "SELECT DISTINCT p.image_digest FROM",
                        chunk,
                        "CROSS JOIN analysis_packages p \
                         ON p.ecosystem = k.column1 AND p.name = k.column2",
                    );
                    let rows: Vec<String> = qb
                        .build_query_scalar()
                        .fetch_all(pool)
                        .await
                        .map_err(query_err(OP))?;
                    digests.extend(rows);
                }
            }
            Pool::Postgres(pool) => {
                let (ecosystems, names): (Vec<&str>, Vec<&str>) = packages
                    .iter()
                    .map(|p| (p.ecosystem.as_str(), p.name.as_str()))
                    .unzip();
                let rows: Vec<String> = sqlx::query_scalar(
                    "SELECT DISTINCT p.image_digest FROM analysis_packages p \
                     JOIN UNNEST($1::text[], $2::text[]) AS k(ecosystem, name) \
                     ON p.ecosystem = k.ecosystem AND p.name = k.name",
                )
                .bind(ecosystems)
                .bind(names)
                .fetch_all(pool)
                .await
                .map_err(query_err(OP))?;
                digests.extend(rows);
            }
        }
        Ok(digests.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::both_backends;
    use plimsoll_analyzer::scan::{NoProgress, scan};
    use plimsoll_analyzer::settings::ScanSettings;
    use plimsoll_analyzer::source::ImageSource;
    use std::sync::Arc;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn pkg(e: &str, n: &str) -> PackageRef {
        PackageRef::new(e, n)
    }

    /// The real analysis of the bundled demo image (`examples/demo-image`).
    async fn demo_analysis() -> Analysis {
        let layout = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo-image/layout");
        let reference = format!("oci-dir:{layout}");
        let source: ImageSource = reference.parse().expect("demo image reference");
        scan(
            &source,
            &reference,
            &ScanSettings::default(),
            Arc::new(NoProgress),
        )
        .await
        .expect("scan the demo image")
    }

    /// The demo analysis under another digest, with `extra` files (the size of a real image's
    /// file list is what the compression is for).
    fn variant(base: &Analysis, digest: &str, extra_files: usize) -> Analysis {
        let mut a = base.clone();
        a.image.manifest_digest = digest.to_owned();
        let template = a.files.first().cloned().expect("the demo image has files");
        for i in 0..extra_files {
            let mut f = template.clone();
            f.path = format!("/usr/lib/python3/dist-packages/module_{i}/__init__.py");
            f.size = i as u64;
            a.files.push(f);
        }
        a
    }

    both_backends! {
        async fn put_is_idempotent_and_get_round_trips(db) {
            let store = db.store().await;
            let analysis = demo_analysis().await;
            let digest = analysis.image.manifest_digest.clone();
            let packages: Vec<PackageRef> = analysis
                .packages
                .iter()
                .map(|p| pkg("Debian:12", &p.name))
                .collect();
            assert!(!packages.is_empty(), "the demo image has packages");

            assert_eq!(store.put_analysis(&analysis, &packages, t(100)).await.expect("put"), PutOutcome::Inserted);
            assert_eq!(store.put_analysis(&analysis, &packages, t(200)).await.expect("put"), PutOutcome::Unchanged);
            let got = store.get_analysis(&digest).await.expect("get").expect("stored");
            assert_eq!(got.analysis, analysis);
            assert_eq!(got.created_at, t(100), "an unchanged put keeps the first time");
            assert_eq!(got.analyzer_version, analysis.analyzer.version);
            assert!(store.get_analysis("sha256:absent").await.expect("get").is_none());

            let mut newer = analysis.clone();
            newer.analyzer.version = "99.0.0".into();
            assert_eq!(store.put_analysis(&newer, &packages, t(300)).await.expect("put"), PutOutcome::Replaced);
            let info = store.analysis_info(&digest).await.expect("info").expect("stored");
            assert_eq!((info.analyzer_version.as_str(), info.created_at), ("99.0.0", t(300)));
            assert!(info.stored_size < info.json_size, "{info:?}");

            let mut nameless = analysis.clone();
            nameless.image.manifest_digest = String::new();
            let err = store.put_analysis(&nameless, &[], t(1)).await.expect_err("no digest");
            assert!(matches!(err, Error::InvalidInput { op: "put_analysis", .. }), "{err}");
        }

        async fn zstd_shrinks_a_large_analysis(db) {
            let store = db.store().await;
            let big = variant(&demo_analysis().await, "sha256:big", 20_000);
            store.put_analysis(&big, &[], t(1)).await.expect("put");
            let info = store.analysis_info("sha256:big").await.expect("info").expect("stored");
            // Measured: 4.1 MB of JSON stored in 48 kB (a synthetic, very regular file list;
            // the demo image's own 4.8 kB analysis stores in 2.1 kB).
            assert!(info.json_size > 2_000_000, "{info:?}");
            assert!(info.stored_size * 10 < info.json_size, "{info:?}");
            let got = store.get_analysis("sha256:big").await.expect("get").expect("stored");
            assert_eq!(got.analysis.files.len(), big.files.len());
        }

        async fn analyses_touching_follows_the_package_lists(db) {
            let store = db.store().await;
            let base = demo_analysis().await;
            let a = variant(&base, "sha256:aaa", 0);
            let b = variant(&base, "sha256:bbb", 0);
            let c = variant(&base, "sha256:ccc", 0);
            store.put_analysis(&a, &[pkg("Debian:12", "openssl"), pkg("Debian:12", "zlib")], t(1)).await.expect("a");
            store.put_analysis(&b, &[pkg("Debian:12", "openssl"), pkg("PyPI", "requests")], t(1)).await.expect("b");
            store.put_analysis(&c, &[pkg("npm", "lodash")], t(1)).await.expect("c");

            let touching = |ps: Vec<PackageRef>| {
                let store = store.clone();
                async move { store.analyses_touching(&ps).await.expect("touching") }
            };
            assert_eq!(touching(vec![pkg("Debian:12", "openssl")]).await, vec!["sha256:aaa", "sha256:bbb"]);
            assert_eq!(touching(vec![pkg("PyPI", "requests"), pkg("npm", "lodash")]).await, vec!["sha256:bbb", "sha256:ccc"]);
            assert_eq!(touching(vec![pkg("Debian:11", "openssl")]).await, Vec::<String>::new());
            assert_eq!(touching(vec![]).await, Vec::<String>::new());

            // Re-putting the same document with another package list (a new mapping) updates it.
            assert_eq!(
                store.put_analysis(&a, &[pkg("Debian:12", "zlib")], t(2)).await.expect("a again"),
                PutOutcome::Unchanged
            );
            assert_eq!(touching(vec![pkg("Debian:12", "openssl")]).await, vec!["sha256:bbb"]);
        }
    }
}

//! A small hand-built analysis the renderers' tests share: one package of each shape that
//! makes SBOMs tricky, and secrets in a deleted file, a visible file, the config and history.

use crate::model::{
    Analysis, AnalyzerInfo, ContentHit, Distro, HitLocation, ImageInfo, LayerInfo, Package,
    PackageKind, SourcePackage, purl_for,
};

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn layer(index: usize, c: char, diff: char, created_by: &str) -> LayerInfo {
    LayerInfo {
        index,
        digest: digest(c),
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        size: 1000 * (index as u64 + 1),
        diff_id: digest(diff),
        uncompressed_size: 3000 * (index as u64 + 1),
        file_count: 10,
        created_by: Some(created_by.into()),
    }
}

pub(crate) fn analysis() -> Analysis {
    let distro = Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        version_codename: Some("bookworm".into()),
        id_like: Vec::new(),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        cpe_name: None,
    };

    let mut libssl = Package::new(PackageKind::Deb, "libssl3", "3.0.15-1~deb12u1");
    libssl.arch = Some("amd64".into());
    libssl.source = Some(SourcePackage {
        name: "openssl".into(),
        version: None,
    });
    libssl.licenses = vec!["Apache-2.0".into(), "Artistic".into(), "GPL-1+".into()];
    libssl.locations = vec!["/var/lib/dpkg/status".into()];
    libssl
        .metadata
        .insert("maintainer".into(), "Debian OpenSSL Team".into());

    let mut bash = Package::new(PackageKind::Deb, "bash", "5.2.15-2+b7");
    bash.arch = Some("amd64".into());
    bash.source = Some(SourcePackage {
        name: "bash".into(),
        version: Some("5.2.15-2".into()),
    });
    bash.licenses = vec!["GPL-3+".into(), "GPL-2.0+".into()];
    bash.locations = vec!["/var/lib/dpkg/status".into()];

    let mut openssl_libs = Package::new(PackageKind::Rpm, "openssl-libs", "1:3.0.7-27.el9");
    openssl_libs.arch = Some("x86_64".into());
    openssl_libs.epoch = Some(1);
    openssl_libs.source = Some(SourcePackage {
        name: "openssl".into(),
        version: Some("3.0.7-27.el9".into()),
    });
    openssl_libs.licenses = vec!["ASL 2.0".into()];
    openssl_libs.locations = vec!["/var/lib/rpm/rpmdb.sqlite".into()];
    openssl_libs.introduced_layer = 1;
    openssl_libs.record_layer = 2;

    let mut babel = Package::new(PackageKind::Npm, "@babel/core", "7.24.0");
    babel.licenses = vec!["MIT".into()];
    babel.locations = vec!["/app/node_modules/@babel/core/package.json".into()];
    babel.introduced_layer = 2;
    babel.record_layer = 2;
    // The same package copied elsewhere: same purl, so only the location tells them apart.
    let mut babel_copy = babel.clone();
    babel_copy.locations = vec!["/usr/lib/node_modules/@babel/core/package.json".into()];

    let mut jackson = Package::new(PackageKind::Java, "jackson-databind", "2.17.0");
    jackson.namespace = Some("com.fasterxml.jackson.core".into());
    jackson.licenses = vec!["Apache-2.0".into()];
    jackson.locations = vec!["/app/app.jar:BOOT-INF/lib/jackson-databind-2.17.0.jar".into()];
    jackson.introduced_layer = 2;
    jackson.record_layer = 2;

    let mut text = Package::new(PackageKind::GoModule, "golang.org/x/text", "v0.14.0");
    text.licenses = vec!["BSD-3-Clause".into(), "MIT OR Apache-2.0".into()];
    text.locations = vec!["/app/server".into()];
    text.introduced_layer = 2;
    text.record_layer = 2;
    text.metadata.insert("goVersion".into(), "go1.22.1".into());

    let mut packages = vec![text, jackson, babel_copy, babel, openssl_libs, bash, libssl];
    for p in &mut packages {
        p.purl = purl_for(p, Some(&distro));
    }

    Analysis {
        schema_version: crate::model::SCHEMA_VERSION.into(),
        analyzer: AnalyzerInfo {
            name: "plimsoll-analyzer".into(),
            version: "0.0.0-test".into(),
        },
        image: ImageInfo {
            reference: "registry.example.com/team/app:1.2".into(),
            repository: Some("registry.example.com/team/app".into()),
            tag: Some("1.2".into()),
            manifest_digest: digest('1'),
            manifest_media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            index_digest: Some(digest('2')),
            config_digest: digest('3'),
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            compressed_size: 6000,
            uncompressed_size: 18000,
            layers: vec![
                layer(0, 'a', 'd', "/bin/sh -c #(nop) ADD file:abc in /"),
                layer(
                    1,
                    'b',
                    'e',
                    "RUN /bin/sh -c echo key > /root/.aws/credentials",
                ),
                layer(
                    2,
                    'c',
                    'f',
                    "RUN /bin/sh -c rm /root/.aws/credentials && build",
                ),
            ],
            created: Some("2024-03-01T12:00:00Z".into()),
            ..ImageInfo::default()
        },
        distro: Some(distro),
        packages,
        files: Vec::new(),
        secrets: vec![
            ContentHit {
                pattern: "AWS_ACCESS_KEY".into(),
                location: HitLocation::File {
                    path: "/root/.aws/credentials".into(),
                    layer: 1,
                    visible: false,
                },
                lines: vec![2, 3],
            },
            ContentHit {
                pattern: "PRIV_KEY".into(),
                location: HitLocation::File {
                    path: "/etc/ssl/private/server.key".into(),
                    layer: 2,
                    visible: true,
                },
                lines: vec![1],
            },
            ContentHit {
                pattern: "API_KEY".into(),
                location: HitLocation::Env {
                    name: "SERVICE_TOKEN".into(),
                },
                lines: Vec::new(),
            },
        ],
        content_matches: Vec::new(),
        retrieved_files: Vec::new(),
        warnings: Vec::new(),
    }
}

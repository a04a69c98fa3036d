//! Webhook signatures: `Plimsoll-Signature: t=<unix seconds>,v1=<hex>`, where `<hex>` is
//! HMAC-SHA256, keyed by the Secret value `hmacSecretRef` names, over `<t>.<body>` (the
//! decimal timestamp, a dot, the exact body bytes).
//!
//! Why the timestamp is signed: a receiver that rejects signatures older than a few minutes
//! cannot be fed a recorded request again (replay). `t` is the time of the attempt, not of the
//! event: a retry is signed afresh. Receivers compare in constant time (as [`verify`] does)
//! and should accept any `v1=` of the header, so the scheme can carry two signatures while a
//! key is rotated.
//!
//! The key is the Secret value with leading and trailing whitespace removed (a Secret written
//! with `echo` ends with a newline the receiver's copy of the key does not have).

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Plimsoll-Signature";

/// How far a signature's timestamp may be from the receiver's clock, by default.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

fn mac(key: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // Invariant: HMAC takes keys of any length (longer ones are hashed), so
    // `new_from_slice` never fails for it.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The hex HMAC-SHA256 of `<timestamp>.<body>`.
pub fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(key, timestamp, body).finalize().into_bytes())
}

/// The `Plimsoll-Signature` header value.
pub fn header_value(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature(key, timestamp, body))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is not `t=<unix seconds>,v1=<hex>`")]
    Malformed,
    #[error("the signature is {age} s away from now, more than the {tolerance} s allowed")]
    Stale { age: i64, tolerance: i64 },
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// Checks a `Plimsoll-Signature` header value against `body`, as a receiver does.
pub fn verify(
    key: &[u8],
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let mut t: Option<i64> = None;
    let mut sigs: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse().map_err(|_| VerifyError::Malformed)?),
            Some(("v1", v)) => sigs.push(hex::decode(v).map_err(|_| VerifyError::Malformed)?),
            Some(_) => {}
            None => return Err(VerifyError::Malformed),
        }
    }
    let t = t.ok_or(VerifyError::Malformed)?;
    if sigs.is_empty() {
        return Err(VerifyError::Malformed);
    }
    let age = now_unix.saturating_sub(t).saturating_abs();
    if age > tolerance_secs {
        return Err(VerifyError::Stale {
            age,
            tolerance: tolerance_secs,
        });
    }
    let expected = mac(key, t, body);
    if sigs
        .iter()
        .any(|s| expected.clone().verify_slice(s).is_ok())
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"whsec-test-key";
    const BODY: &[u8] = br#"{"id":"plimsoll-test","event":"policy_eval"}"#;

    /// Computed independently:
    /// `printf '%s' '1750000000.{"id":"plimsoll-test","event":"policy_eval"}' |
    ///  openssl dgst -sha256 -hmac whsec-test-key`, and with Python's
    /// `hmac.new(b"whsec-test-key", b"1750000000." + body, hashlib.sha256).hexdigest()`.
    const EXPECTED: &str = "132180db7d2804b17529788d5ddf0ba9c57e419422ca8e9e9c53ec5f1ad9405b";

    #[test]
    fn matches_the_independent_vector() {
        assert_eq!(signature(KEY, 1_750_000_000, BODY), EXPECTED);
        assert_eq!(
            header_value(KEY, 1_750_000_000, BODY),
            format!("t=1750000000,v1={EXPECTED}")
        );
    }

    #[test]
    fn verify_accepts_and_rejects() {
        let h = header_value(KEY, 1_750_000_000, BODY);
        assert_eq!(verify(KEY, &h, BODY, 1_750_000_100, 300), Ok(()));
        // Key rotation: any matching v1 passes.
        let two = format!("t=1750000000,v1={},v1={EXPECTED}", "00".repeat(32));
        assert_eq!(verify(KEY, &two, BODY, 1_750_000_000, 300), Ok(()));
        let cases = [
            (
                h.as_str(),
                BODY,
                1_750_000_301,
                VerifyError::Stale {
                    age: 301,
                    tolerance: 300,
                },
            ),
            (
                h.as_str(),
                BODY,
                1_749_999_000,
                VerifyError::Stale {
                    age: 1000,
                    tolerance: 300,
                },
            ),
            (
                h.as_str(),
                &br#"{"id":"other"}"#[..],
                1_750_000_000,
                VerifyError::Mismatch,
            ),
            ("t=1750000000", BODY, 1_750_000_000, VerifyError::Malformed),
            ("v1=abcd", BODY, 1_750_000_000, VerifyError::Malformed),
            (
                "t=soon,v1=abcd",
                BODY,
                1_750_000_000,
                VerifyError::Malformed,
            ),
            (
                "t=1750000000,v1=zz",
                BODY,
                1_750_000_000,
                VerifyError::Malformed,
            ),
            ("garbage", BODY, 1_750_000_000, VerifyError::Malformed),
        ];
        for (header, body, now, want) in cases {
            assert_eq!(verify(KEY, header, body, now, 300), Err(want), "{header}");
        }
        assert_eq!(
            verify(b"other key", &h, BODY, 1_750_000_000, 300),
            Err(VerifyError::Mismatch)
        );
    }
}

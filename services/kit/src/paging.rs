//! Page sizes and opaque, tamper-evident page tokens (AIP-158).
//!
//! A token is `base64url(cursor JSON ‖ 16-byte HMAC tag)`. The tag covers the cursor and a
//! fingerprint of the request's filters, so a token cannot be edited, nor replayed with
//! other filters to walk a result set the caller did not ask for.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Serialize, de::DeserializeOwned};
use sha2::Sha256;

use crate::error::FieldViolations;

const TAG_LEN: usize = 16;
/// Longest token accepted; anything longer is not ours.
const MAX_TOKEN_LEN: usize = 2048;

/// Why a page token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("page_token is malformed, was tampered with, or belongs to a request with other filters")]
pub struct BadPageToken;

impl BadPageToken {
    /// The field violation to report for a request's `page_token` field.
    pub fn violation(&self) -> FieldViolations {
        FieldViolations::one("page_token", self.to_string())
    }
}

/// Seals and opens page tokens with one server-side key.
#[derive(Clone)]
pub struct PageTokens {
    key: Arc<SecretString>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens(..)")
    }
}

impl PageTokens {
    pub fn new(key: SecretString) -> PageTokens {
        PageTokens { key: Arc::new(key) }
    }

    /// The MAC over the filters (length-prefixed, so no cursor can pose as filters) and cursor.
    fn mac(&self, cursor: &[u8], filters: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("hmac takes any key length"));
        mac.update(&(filters.len() as u64).to_be_bytes());
        mac.update(filters);
        mac.update(cursor);
        mac
    }

    fn tag(&self, cursor: &[u8], filters: &[u8]) -> [u8; TAG_LEN] {
        let full = self.mac(cursor, filters).finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    /// Cuts a page fetched with one extra row down to `size`; the token for the next page
    /// (the cursor of its last row, bound to `filters`) when there is one, else "".
    pub fn next_page<T, C: Serialize>(
        &self,
        rows: &mut Vec<T>,
        size: usize,
        filters: &[u8],
        cursor: impl Fn(&T) -> C,
    ) -> String {
        if rows.len() <= size {
            return String::new();
        }
        rows.truncate(size);
        rows.last()
            .map(|last| self.seal(&cursor(last), filters))
            .unwrap_or_default()
    }

    /// Seals `cursor` for a request whose filters serialise to `filters`.
    pub fn seal<C: Serialize>(&self, cursor: &C, filters: &[u8]) -> String {
        let mut bytes = serde_json::to_vec(cursor).unwrap_or_default();
        let tag = self.tag(&bytes, filters);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Opens a token; an empty token is the first page (`None`).
    pub fn open<C: DeserializeOwned>(
        &self,
        token: &str,
        filters: &[u8],
    ) -> Result<Option<C>, BadPageToken> {
        if token.is_empty() {
            return Ok(None);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(BadPageToken);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| BadPageToken)?;
        if bytes.len() <= TAG_LEN {
            return Err(BadPageToken);
        }
        let (cursor, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        self.mac(cursor, filters)
            .verify_truncated_left(tag)
            .map_err(|_| BadPageToken)?;
        serde_json::from_slice(cursor)
            .map(Some)
            .map_err(|_| BadPageToken)
    }
}

/// The cursor of lists ordered by an instant, then an id: the instant travels as
/// microseconds since the epoch (the database's precision).
pub type TimeIdCursor = (i64, uuid::Uuid);

/// The instant and id of a [`TimeIdCursor`] (`None` if the instant is out of range).
pub fn time_id(cursor: TimeIdCursor) -> Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)> {
    Some((chrono::DateTime::from_timestamp_micros(cursor.0)?, cursor.1))
}

/// The [`TimeIdCursor`] of a row.
pub fn time_id_cursor(at: chrono::DateTime<chrono::Utc>, id: uuid::Uuid) -> TimeIdCursor {
    (at.timestamp_micros(), id)
}

impl PageTokens {
    /// Reads a List request's page fields: the page size (standard limits) and the cursor
    /// of its token, which must have been sealed for the same `filters`. Problems are
    /// added to `v`; the size is then 0 and the cursor `None`.
    pub fn page<C: DeserializeOwned>(
        &self,
        v: &mut FieldViolations,
        page_size: i32,
        page_token: &str,
        filters: &[u8],
    ) -> (usize, Option<C>) {
        let size = PageSize::STANDARD
            .resolve(page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let after = self
            .open(page_token, filters)
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        (size, after)
    }
}

/// Page size limits of one List method.
#[derive(Debug, Clone, Copy)]
pub struct PageSize {
    pub default: usize,
    pub max: usize,
}

impl PageSize {
    pub const STANDARD: PageSize = PageSize {
        default: 50,
        max: 1000,
    };

    /// 0 means the default; above the maximum is clamped (AIP-158); negative is refused.
    pub fn resolve(self, requested: i32) -> Result<usize, FieldViolations> {
        match requested {
            n if n < 0 => Err(FieldViolations::one("page_size", "must not be negative")),
            0 => Ok(self.default),
            n => Ok((n as usize).min(self.max)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(k: &str) -> PageTokens {
        PageTokens::new(SecretString::from(k.repeat(32)))
    }

    #[test]
    fn round_trip() {
        let t = tokens("k");
        let sealed = t.seal(&("0190", 7u32), b"phone=+86");
        let opened: Option<(String, u32)> = t.open(&sealed, b"phone=+86").expect("valid");
        assert_eq!(opened, Some(("0190".into(), 7)));
    }

    #[test]
    fn empty_is_first_page() {
        assert_eq!(tokens("k").open::<u32>("", b""), Ok(None));
    }

    #[test]
    fn other_filters_are_refused() {
        let t = tokens("k");
        let sealed = t.seal(&1u32, b"city=A");
        assert_eq!(t.open::<u32>(&sealed, b"city=B"), Err(BadPageToken));
    }

    #[test]
    fn tampering_is_refused() {
        let t = tokens("k");
        let sealed = t.seal(&1u32, b"");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
        bytes[0] = b'2';
        let forged = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(t.open::<u32>(&forged, b""), Err(BadPageToken));
        assert_eq!(tokens("x").open::<u32>(&sealed, b""), Err(BadPageToken));
        for junk in ["%%%", "abc", &"A".repeat(5000)] {
            assert_eq!(t.open::<u32>(junk, b""), Err(BadPageToken), "{junk}");
        }
    }

    #[test]
    fn page_sizes() {
        let p = PageSize::STANDARD;
        assert_eq!(p.resolve(0), Ok(50));
        assert_eq!(p.resolve(7), Ok(7));
        assert_eq!(p.resolve(5000), Ok(1000));
        assert!(p.resolve(-1).is_err());
    }
}

//! The shape of an API key: `dnk_<prefix>_<secret>`. The prefix (48 random bits, hex) is
//! public and finds the key; the secret (256 random bits, base64url) proves it. Only the
//! SHA-256 of the whole key is stored: with that much entropy an unkeyed hash cannot be
//! reversed by guessing, and no server-side key is needed to check one.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

const SCHEME: &str = "dnk_";
const PREFIX_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;

/// A presented or newly made key, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedKey<'a> {
    pub prefix: &'a str,
    whole: &'a str,
}

impl<'a> PresentedKey<'a> {
    /// Splits `dnk_<12 hex>_<43 base64url>`; anything else is not one of our keys.
    pub fn parse(key: &'a str) -> Option<PresentedKey<'a>> {
        let rest = key.strip_prefix(SCHEME)?;
        let (prefix, secret) = rest.split_once('_')?;
        let prefix_ok = prefix.len() == PREFIX_BYTES * 2
            && prefix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let secret_ok = secret.len() == 43
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (prefix_ok && secret_ok).then_some(PresentedKey { prefix, whole: key })
    }

    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(self.whole.as_bytes()).into()
    }
}

/// Whether `key` looks like an API key rather than a JWT.
pub fn is_api_key(key: &str) -> bool {
    key.starts_with(SCHEME)
}

/// A fresh key: (prefix, whole key). Fails only when the OS has no randomness to give.
pub fn generate() -> Result<(String, String), getrandom::Error> {
    let mut prefix = [0u8; PREFIX_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::getrandom(&mut prefix)?;
    getrandom::getrandom(&mut secret)?;
    let prefix: String = prefix.iter().map(|b| format!("{b:02x}")).collect();
    let whole = format!("{SCHEME}{prefix}_{}", URL_SAFE_NO_PAD.encode(secret));
    Ok((prefix, whole))
}

/// Compares two digests without leaking, through timing, how many leading bytes match.
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_garbage_does_not() {
        let (prefix, whole) = generate().expect("randomness");
        let parsed = PresentedKey::parse(&whole).expect("parses");
        assert_eq!(parsed.prefix, prefix);
        assert!(is_api_key(&whole));
        let (_, other) = generate().expect("randomness");
        assert_ne!(whole, other);
        assert!(!digests_equal(
            &parsed.sha256(),
            &PresentedKey::parse(&other).expect("parses").sha256()
        ));
        for bad in [
            "",
            "dnk_",
            "dnk_abc_def",
            &whole[..whole.len() - 1],
            &whole.replace("dnk_", "dnx_"),
        ] {
            assert!(PresentedKey::parse(bad).is_none(), "{bad}");
        }
    }
}

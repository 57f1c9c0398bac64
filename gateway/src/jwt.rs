//! Verification of external bearer tokens (JWTs) with `jsonwebtoken`: HS256 with the
//! platform key in dev, or RS256/ES256 with a configured public key or JWKS file in
//! production. Expiry, not-before and — when configured — issuer and audience are checked.

use std::path::Path;

use dealernet_kit::auth::{Principal, Role};
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation, decode, decode_header, errors::ErrorKind, jwk::JwkSet,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Clock skew tolerated between the token issuer and the gateway.
const LEEWAY_SECS: u64 = 30;

/// The claims a dealernet token carries (the registered ones are checked by `Validation`).
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    org: String,
    roles: Vec<String>,
}

/// Why a bearer token was refused; each maps to a stable ErrorInfo reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token issuer or audience is not this platform")]
    WrongAudience,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("malformed bearer token: {0}")]
    Malformed(String),
}

impl TokenRejection {
    pub fn reason(&self) -> &'static str {
        match self {
            TokenRejection::Expired => "TOKEN_EXPIRED",
            TokenRejection::NotYetValid => "TOKEN_NOT_YET_VALID",
            TokenRejection::WrongAudience => "TOKEN_WRONG_AUDIENCE",
            TokenRejection::BadSignature => "TOKEN_BAD_SIGNATURE",
            TokenRejection::Malformed(_) => "TOKEN_MALFORMED",
        }
    }
}

/// A key that may verify a token, with the one algorithm it is for (so that an RSA public
/// key can never be used as an HMAC secret: the key-confusion attack).
struct VerifyingKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Verifies external tokens against the configured keys.
pub struct JwtVerifier {
    keys: Vec<VerifyingKey>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl JwtVerifier {
    /// HS256 with the platform's shared key: dev mode and tests.
    pub fn hs256(secret: &SecretString) -> JwtVerifier {
        JwtVerifier {
            keys: vec![VerifyingKey {
                kid: None,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            }],
            issuer: None,
            audience: None,
        }
    }

    /// RS256 or ES256 with one PEM public key (RSA, or EC P-256).
    pub fn from_public_key_file(path: &Path) -> Result<JwtVerifier, String> {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (algorithm, key) = if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
            (Algorithm::RS256, key)
        } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
            (Algorithm::ES256, key)
        } else {
            return Err(format!(
                "{}: not a PEM RSA or EC P-256 public key",
                path.display()
            ));
        };
        Ok(JwtVerifier {
            keys: vec![VerifyingKey {
                kid: None,
                algorithm,
                key,
            }],
            issuer: None,
            audience: None,
        })
    }

    /// RS256/ES256 keys of a JWKS document; a token names its key by `kid`.
    pub fn from_jwks_file(path: &Path) -> Result<JwtVerifier, String> {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let set: JwkSet = serde_json::from_slice(&text)
            .map_err(|e| format!("{}: not a JWKS document: {e}", path.display()))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let algorithm = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                _ => continue,
            };
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| format!("{}: key {:?}: {e}", path.display(), jwk.common.key_id))?;
            keys.push(VerifyingKey {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            });
        }
        if keys.is_empty() {
            return Err(format!("{}: no RSA or EC key", path.display()));
        }
        Ok(JwtVerifier {
            keys,
            issuer: None,
            audience: None,
        })
    }

    /// Requires `iss` and/or `aud` claims equal to these.
    pub fn with_claims(mut self, issuer: Option<String>, audience: Option<String>) -> Self {
        self.issuer = issuer;
        self.audience = audience;
        self
    }

    /// Verifies `token` and returns its principal.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenRejection> {
        let header = decode_header(token).map_err(|e| TokenRejection::Malformed(e.to_string()))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.algorithm == header.alg && (header.kid.is_none() || k.kid == header.kid))
            .ok_or_else(|| {
                TokenRejection::Malformed(format!(
                    "no key for alg {:?}, kid {:?}",
                    header.alg, header.kid
                ))
            })?;
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let data = decode::<Claims>(token, &key.key, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenRejection::Expired,
            ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
            ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenRejection::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) if claim == "iss" || claim == "aud" => {
                TokenRejection::WrongAudience
            }
            ErrorKind::InvalidSignature => TokenRejection::BadSignature,
            _ => TokenRejection::Malformed(e.to_string()),
        })?;
        let claims = data.claims;
        // Unknown roles are ignored (an identity provider may carry roles of other
        // systems); at least one must be ours.
        let roles: Vec<Role> = claims.roles.iter().filter_map(|r| r.parse().ok()).collect();
        if roles.is_empty() {
            return Err(TokenRejection::Malformed("no known role".into()));
        }
        Principal::new(&claims.sub, &claims.org, &roles).map_err(TokenRejection::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    const SECRET: &str = "jwt-test-secret-jwt-test-secret-0123456789";

    fn token(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("encode")
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn registered_claims_are_checked() {
        let v = JwtVerifier::hs256(&SecretString::from(SECRET))
            .with_claims(Some("https://idp.example".into()), Some("dealernet".into()));
        let good = json!({"sub": "li", "org": "D1001", "roles": ["dealer", "pilot"],
            "exp": now() + 60, "iss": "https://idp.example", "aud": "dealernet"});
        let p = v.verify(&token(good.clone())).expect("valid");
        assert_eq!(p.roles(), [Role::Dealer]);
        let mut expired = good.clone();
        expired["exp"] = json!(now() - 3600);
        assert_eq!(v.verify(&token(expired)), Err(TokenRejection::Expired));
        let mut early = good.clone();
        early["nbf"] = json!(now() + 3600);
        assert_eq!(v.verify(&token(early)), Err(TokenRejection::NotYetValid));
        let mut other_aud = good.clone();
        other_aud["aud"] = json!("someone-else");
        assert_eq!(
            v.verify(&token(other_aud)),
            Err(TokenRejection::WrongAudience)
        );
        let mut no_iss = good.clone();
        no_iss.as_object_mut().expect("object").remove("iss");
        assert_eq!(v.verify(&token(no_iss)), Err(TokenRejection::WrongAudience));
        let mut no_roles = good;
        no_roles["roles"] = json!(["pilot"]);
        assert!(matches!(
            v.verify(&token(no_roles)),
            Err(TokenRejection::Malformed(_))
        ));
    }

    #[test]
    fn other_algorithms_and_garbage_are_refused() {
        let v = JwtVerifier::hs256(&SecretString::from(SECRET));
        assert!(matches!(v.verify("abc"), Err(TokenRejection::Malformed(_))));
        let claims = json!({"sub": "x", "org": "HQ", "roles": ["hq"], "exp": now() + 60});
        let forged = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"another-key-another-key-another-key"),
        )
        .expect("encode");
        assert_eq!(v.verify(&forged), Err(TokenRejection::BadSignature));
        let hs384 = encode(
            &Header::new(Algorithm::HS384),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("encode");
        assert!(matches!(
            v.verify(&hs384),
            Err(TokenRejection::Malformed(_))
        ));
    }
}

//! Bearer-token authentication: HS256 JWTs carrying a subject, an organisation and roles.
//!
//! Every service verifies the token itself (zero trust inside), so the verifier lives here
//! and is installed on each service as a tonic interceptor that puts the [`Principal`] into
//! the request's extensions.

use std::{fmt, str::FromStr, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tonic::{Request, Status, metadata::MetadataMap};

/// What a caller may be. A principal can hold several roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Head-office staff: reads and manages everything.
    Hq,
    /// Head-office data steward: duplicates, merges, erasure.
    Steward,
    /// Hotline agent.
    Agent,
    /// Dealer staff (sales outlet).
    Dealer,
    /// Service-station staff (workshop).
    Station,
    /// A machine client inside the platform (another service, an integration).
    System,
    /// A factory system (MES): registers production and dispatches shipments. A sub-kind
    /// of `system`: the gateway narrows it to its methods, and the token it passes on to
    /// the services carries `system` too, so the services need not know it.
    Factory,
    /// A logistics carrier's system: reports transit events. A sub-kind of `system`, like
    /// [`Role::Factory`].
    Carrier,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Hq,
        Role::Steward,
        Role::Agent,
        Role::Dealer,
        Role::Station,
        Role::System,
        Role::Factory,
        Role::Carrier,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Hq => "hq",
            Role::Steward => "steward",
            Role::Agent => "agent",
            Role::Dealer => "dealer",
            Role::Station => "station",
            Role::System => "system",
            Role::Factory => "factory",
            Role::Carrier => "carrier",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.name()).collect();
                format!("unknown role '{s}': known roles are {}", names.join(", "))
            })
    }
}

/// The organisation of head office.
pub const ORG_HQ: &str = "HQ";
/// The organisation of the national hotline.
pub const ORG_CALLCENTER: &str = "CALLCENTER";

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    subject: String,
    organization: String,
    roles: Vec<Role>,
}

impl Principal {
    /// A principal whose claims are already known to be valid (minting, tests).
    pub fn new(subject: &str, organization: &str, roles: &[Role]) -> Result<Principal, String> {
        validate_subject(subject)?;
        validate_organization(organization)?;
        if roles.is_empty() {
            return Err("at least one role is required".into());
        }
        Ok(Principal {
            subject: subject.to_owned(),
            organization: organization.to_owned(),
            roles: roles.to_vec(),
        })
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Dealer or station code, `HQ` or `CALLCENTER`.
    pub fn organization(&self) -> &str {
        &self.organization
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The same caller with `role` added (no-op when it already has it).
    pub fn with_role(mut self, role: Role) -> Principal {
        if !self.roles.contains(&role) {
            self.roles.push(role);
        }
        self
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Head office: organisation `HQ` with role hq or steward (an HQ role elsewhere is not).
    pub fn is_head_office(&self) -> bool {
        self.organization == ORG_HQ && (self.has_role(Role::Hq) || self.has_role(Role::Steward))
    }

    /// Takes the principal the auth interceptor stored on the request.
    pub fn of<T>(request: &Request<T>) -> Result<&Principal, Status> {
        request
            .extensions()
            .get::<Principal>()
            .ok_or_else(|| Status::unauthenticated("no verified principal on this request"))
    }
}

fn validate_subject(subject: &str) -> Result<(), String> {
    if subject.is_empty() || subject.len() > 128 || subject.chars().any(char::is_control) {
        return Err("subject must be 1 to 128 printable characters".into());
    }
    Ok(())
}

fn validate_organization(org: &str) -> Result<(), String> {
    let ok = !org.is_empty()
        && org.len() <= 32
        && org
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "organisation '{org}' must be 1 to 32 characters of A-Z, 0-9, '-' or '_'"
        ))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    org: String,
    roles: Vec<String>,
    iat: i64,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
}

/// Why a token was refused; the text goes back to the client as UNAUTHENTICATED.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("missing bearer token: send 'authorization: Bearer <token>'")]
    Missing,
    #[error("malformed bearer token: {0}")]
    Malformed(&'static str),
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token claims invalid: {0}")]
    Claims(String),
}

/// Lifetime of the tokens a service mints for its own calls to another service.
pub const SERVICE_CALL_TOKEN_TTL_SECS: i64 = 300;

/// Signs and verifies HS256 tokens with one configured key.
#[derive(Clone)]
pub struct TokenKeys {
    key: Arc<SecretString>,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

/// Clock skew tolerated between the minting and the verifying machine.
const LEEWAY_SECS: i64 = 30;
const HEADER_HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl TokenKeys {
    pub fn new(key: SecretString) -> TokenKeys {
        TokenKeys { key: Arc::new(key) }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("hmac takes any key length"))
    }

    /// `message` as a call by `principal` to another service: with a bearer token minted
    /// for it, valid for [`SERVICE_CALL_TOKEN_TTL_SECS`].
    pub fn request<T>(&self, principal: &Principal, message: T) -> Request<T> {
        let mut request = Request::new(message);
        let token = self.mint(principal, SERVICE_CALL_TOKEN_TTL_SECS);
        // A token is base64url and dots, always a valid header value; were it not, the
        // callee would answer UNAUTHENTICATED.
        if let Ok(value) = format!("Bearer {token}").parse() {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Mints a token for `principal` valid for `ttl_secs` from now.
    pub fn mint(&self, principal: &Principal, ttl_secs: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: principal.subject.clone(),
            org: principal.organization.clone(),
            roles: principal
                .roles
                .iter()
                .map(|r| r.name().to_owned())
                .collect(),
            iat: now,
            exp: now + ttl_secs,
            nbf: None,
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER_HS256),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Verifies signature, algorithm, expiry and claims.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("expected three dot-separated parts"));
        };
        let header_b64 = header;
        let header: serde_json::Value = decode_json(header)?;
        // Only HS256: refusing everything else closes the `alg: none` and key-confusion holes.
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::Malformed("only alg HS256 is accepted"));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
        let mut mac = self.mac();
        let signing_input = &token[..header_b64.len() + 1 + payload.len()];
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;

        let claims: Claims = decode_json(payload)?;
        let now = chrono::Utc::now().timestamp();
        if claims.exp + LEEWAY_SECS < now {
            return Err(TokenError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > now) {
            return Err(TokenError::NotYetValid);
        }
        validate_subject(&claims.sub).map_err(TokenError::Claims)?;
        validate_organization(&claims.org).map_err(TokenError::Claims)?;
        // Unknown roles are ignored rather than refused so that an identity provider may
        // add roles for other systems; a token must still carry one role we know.
        let roles: Vec<Role> = claims.roles.iter().filter_map(|r| r.parse().ok()).collect();
        if roles.is_empty() {
            return Err(TokenError::Claims("no known role".into()));
        }
        Ok(Principal {
            subject: claims.sub,
            organization: claims.org,
            roles,
        })
    }

    /// Verifies the `authorization: Bearer …` metadata of a request.
    pub fn verify_metadata(&self, metadata: &MetadataMap) -> Result<Principal, TokenError> {
        let value = metadata
            .get("authorization")
            .ok_or(TokenError::Missing)?
            .to_str()
            .map_err(|_| TokenError::Malformed("authorization is not ASCII"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(TokenError::Malformed(
                "authorization must be 'Bearer <token>'",
            ))?;
        self.verify(token.trim())
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed("a part is not base64url"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| TokenError::Malformed("a part is not the expected JSON"))
}

/// A tonic interceptor that verifies the bearer token and stores the [`Principal`].
#[derive(Debug, Clone)]
pub struct Authenticate {
    keys: TokenKeys,
}

impl Authenticate {
    pub fn new(keys: TokenKeys) -> Authenticate {
        Authenticate { keys }
    }
}

impl tonic::service::Interceptor for Authenticate {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        match self.keys.verify_metadata(request.metadata()) {
            Ok(principal) => {
                tracing::Span::current().record("org", principal.organization());
                request.extensions_mut().insert(principal);
                Ok(request)
            }
            Err(e) => {
                tracing::debug!(error = %e, "request refused: not authenticated");
                Err(crate::error::refusal(
                    tonic::Code::Unauthenticated,
                    "UNAUTHENTICATED",
                    e.to_string(),
                    [],
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(SecretString::from(secret.repeat(32)))
    }

    #[test]
    fn a_service_call_carries_a_token_of_its_principal() {
        let k = keys("a");
        let request = k.request(&dealer(), ());
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .expect("an authorization header");
        let token = header.strip_prefix("Bearer ").expect("a bearer token");
        assert_eq!(k.verify(token), Ok(dealer()));
    }

    fn dealer() -> Principal {
        Principal::new("li.wei", "D1001", &[Role::Dealer]).expect("valid")
    }

    #[test]
    fn minted_token_verifies() {
        let k = keys("a");
        assert_eq!(k.verify(&k.mint(&dealer(), 60)), Ok(dealer()));
    }

    #[test]
    fn other_key_is_refused() {
        let token = keys("a").mint(&dealer(), 60);
        assert_eq!(keys("b").verify(&token), Err(TokenError::BadSignature));
    }

    #[test]
    fn expired_is_refused() {
        let k = keys("a");
        assert_eq!(
            k.verify(&k.mint(&dealer(), -3600)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampered_claims_are_refused() {
        let k = keys("a");
        let token = k.mint(&dealer(), 60);
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD
            .encode(br#"{"sub":"li.wei","org":"HQ","roles":["hq"],"iat":0,"exp":99999999999}"#);
        let forged = format!("{}.{}.{}", parts[0], forged, parts[2]);
        assert_eq!(k.verify(&forged), Err(TokenError::BadSignature));
    }

    #[test]
    fn alg_none_is_refused() {
        let k = keys("a");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let claims = URL_SAFE_NO_PAD
            .encode(br#"{"sub":"x","org":"HQ","roles":["hq"],"iat":0,"exp":99999999999}"#);
        assert!(matches!(
            k.verify(&format!("{header}.{claims}.")),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn garbage_is_malformed() {
        let k = keys("a");
        for token in ["", "abc", "a.b", "a.b.c.d", "!!.??.##"] {
            assert!(
                matches!(k.verify(token), Err(TokenError::Malformed(_))),
                "{token}"
            );
        }
    }

    #[test]
    fn organisation_codes_are_checked() {
        assert!(Principal::new("x", "d1001", &[Role::Dealer]).is_err());
        assert!(Principal::new("x", "", &[Role::Dealer]).is_err());
        assert!(Principal::new("x", "HQ", &[]).is_err());
    }
}

//! API keys of machine clients: issued, listed and revoked by HQ (over
//! `GatewayService` or `dealernet apikey`), verified by the gateway on every call.
//!
//! A verified key is trusted for `api_key_cache_ttl` before it is read again, so a key
//! revoked on another replica or from the command line stops working within that time;
//! a revocation through this gateway drops the key from its cache at once.

pub mod api;
mod secret;
mod store;

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use chrono::{DateTime, SubsecRound, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
};
use sqlx::PgPool;

pub use secret::is_api_key;
use secret::{PresentedKey, digests_equal};
pub use store::{ApiKeyRow, ListFilter};

/// Why a presented key was refused; each maps to a stable ErrorInfo reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    #[error("API key is not valid")]
    Invalid,
    #[error("API key expired")]
    Expired,
    #[error("API key was revoked")]
    Revoked,
    #[error("API keys cannot be checked right now")]
    Unavailable,
}

impl KeyRejection {
    pub fn reason(&self) -> &'static str {
        match self {
            KeyRejection::Invalid => "API_KEY_INVALID",
            KeyRejection::Expired => "API_KEY_EXPIRED",
            KeyRejection::Revoked => "API_KEY_REVOKED",
            KeyRejection::Unavailable => "API_KEYS_UNAVAILABLE",
        }
    }
}

/// The most keys kept in memory; past it the cache starts over (each entry is re-read).
const MAX_CACHED: usize = 100_000;

#[derive(Debug, Clone)]
struct Cached {
    row: Option<Arc<ApiKeyRow>>,
    principal: Option<Principal>,
    read_at: Instant,
}

/// The key store and the gateway's cache of it.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    pool: PgPool,
    ttl: Duration,
    cache: Arc<RwLock<HashMap<String, Cached>>>,
}

/// What an issuer asks for.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub display_name: String,
    pub organization: String,
    pub roles: Vec<String>,
    pub expire_time: Option<DateTime<Utc>>,
    pub request_id: String,
}

/// A newly issued key: its record and the whole key, to be shown once.
#[derive(Debug)]
pub struct Issued {
    pub row: ApiKeyRow,
    pub secret: String,
}

/// Why issuing failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("invalid request: {0}")]
    Invalid(FieldViolations),
    #[error("a key was already issued for this request id: {0}")]
    AlreadyIssued(String),
    #[error("no randomness: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ApiKeys {
    pub fn new(pool: PgPool, ttl: Duration) -> ApiKeys {
        ApiKeys {
            pool,
            ttl,
            cache: Arc::default(),
        }
    }

    /// The principal of a presented key.
    pub async fn verify(&self, presented: &str) -> Result<Principal, KeyRejection> {
        let key = PresentedKey::parse(presented).ok_or(KeyRejection::Invalid)?;
        let cached = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.get(key.prefix).cloned())
            .filter(|c| c.read_at.elapsed() < self.ttl);
        let cached = match cached {
            Some(c) => c,
            None => self.read(key.prefix).await?,
        };
        let (Some(row), Some(principal)) = (cached.row, cached.principal) else {
            return Err(KeyRejection::Invalid);
        };
        if !digests_equal(&row.secret_sha256, &key.sha256()) {
            return Err(KeyRejection::Invalid);
        }
        if row.revoke_time.is_some() {
            return Err(KeyRejection::Revoked);
        }
        if row.expire_time.is_some_and(|t| t <= Utc::now()) {
            return Err(KeyRejection::Expired);
        }
        Ok(principal)
    }

    /// Reads one key into the cache (unknown prefixes too, so that a flood of bad keys
    /// with one prefix costs one read per TTL).
    async fn read(&self, prefix: &str) -> Result<Cached, KeyRejection> {
        let mut conn = self.pool.acquire().await.map_err(|e| {
            tracing::warn!(error = %e, "api key lookup failed");
            KeyRejection::Unavailable
        })?;
        let row = store::get(&mut conn, prefix).await.map_err(|e| {
            tracing::warn!(error = %e, "api key lookup failed");
            KeyRejection::Unavailable
        })?;
        let principal = row.as_ref().and_then(principal_of);
        let cached = Cached {
            row: row.map(Arc::new),
            principal,
            read_at: Instant::now(),
        };
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(prefix.to_owned(), cached.clone());
        }
        Ok(cached)
    }

    /// Forgets a key, so that its next use reads the store.
    fn forget(&self, prefix: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(prefix);
        }
    }

    /// Issues a key for `creator` (the issuing principal).
    pub async fn issue(&self, creator: &str, request: IssueRequest) -> Result<Issued, IssueError> {
        validate(&request).map_err(IssueError::Invalid)?;
        let (prefix, whole) = secret::generate().map_err(IssueError::Random)?;
        let hash = PresentedKey::parse(&whole)
            .map(|k| k.sha256().to_vec())
            .unwrap_or_default();
        let mut roles: Vec<String> = Vec::new();
        for role in &request.roles {
            if !roles.contains(role) {
                roles.push(role.clone());
            }
        }
        let row = ApiKeyRow {
            prefix,
            secret_sha256: hash,
            display_name: request.display_name.trim().to_owned(),
            organization: request.organization,
            roles,
            expire_time: request.expire_time,
            // As stored: PostgreSQL keeps microseconds.
            create_time: Utc::now().trunc_subsecs(6),
            creator: creator.to_owned(),
            request_key: format!("{creator}\n{}", request.request_id),
            revoke_time: None,
        };
        let mut conn = self.pool.acquire().await?;
        if !store::insert(&mut conn, &row).await? {
            let name = store::by_request_key(&mut conn, &row.request_key)
                .await?
                .map(|r| format!("apiKeys/{}", r.prefix))
                .unwrap_or_default();
            return Err(IssueError::AlreadyIssued(name));
        }
        Ok(Issued { row, secret: whole })
    }

    pub async fn get(&self, prefix: &str) -> sqlx::Result<Option<ApiKeyRow>> {
        let mut conn = self.pool.acquire().await?;
        store::get(&mut conn, prefix).await
    }

    pub async fn list(&self, filter: &ListFilter) -> sqlx::Result<Vec<ApiKeyRow>> {
        let mut conn = self.pool.acquire().await?;
        store::list(&mut conn, filter, Utc::now()).await
    }

    /// Revokes a key and drops it from this gateway's cache; `None` when there is no such key.
    pub async fn revoke(&self, prefix: &str) -> sqlx::Result<Option<ApiKeyRow>> {
        let mut conn = self.pool.acquire().await?;
        let row = store::revoke(&mut conn, prefix, Utc::now()).await?;
        self.forget(prefix);
        Ok(row)
    }
}

/// The principal a stored key acts as (its subject names the key, so the services' logs
/// and access records show which key made a call).
fn principal_of(row: &ApiKeyRow) -> Option<Principal> {
    let roles: Vec<Role> = row.roles.iter().filter_map(|r| r.parse().ok()).collect();
    Principal::new(&format!("apikey:{}", row.prefix), &row.organization, &roles).ok()
}

fn validate(request: &IssueRequest) -> Result<(), FieldViolations> {
    let mut v = FieldViolations::new();
    let name = request.display_name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        v.add("api_key.display_name", "1 to 200 printable characters");
    }
    if let Err(e) = Principal::new("x", &request.organization, &[Role::System]) {
        v.add("api_key.organization", e);
    }
    if request.roles.is_empty() {
        v.add("api_key.roles", "at least one role");
    }
    for (i, role) in request.roles.iter().enumerate() {
        if let Err(e) = role.parse::<Role>() {
            v.add(format!("api_key.roles[{i}]"), e);
        }
    }
    if request.expire_time.is_some_and(|t| t <= Utc::now()) {
        v.add("api_key.expire_time", "must be in the future");
    }
    let id = &request.request_id;
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        v.add("request_id", "1 to 128 printable ASCII characters");
    }
    v.into_result()
}

/// The state of a stored key at `now`.
pub fn is_active(row: &ApiKeyRow, now: DateTime<Utc>) -> bool {
    row.revoke_time.is_none() && row.expire_time.is_none_or(|t| t > now)
}

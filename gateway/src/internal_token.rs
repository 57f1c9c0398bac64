//! The short-lived token the gateway passes on to the services for a verified caller,
//! signed with the services' own HS256 key: the services keep verifying every call (zero
//! trust inside), and never see the caller's original credential. Tokens are cached per
//! principal, so signing is not per request.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use dealernet_kit::auth::{Principal, Role, TokenKeys};
use http::HeaderValue;

/// Lifetime of a minted token.
const TOKEN_TTL_SECS: i64 = 300;
/// A cached token is reused while younger than this, so that it is never passed on with
/// less than a minute to live (the services allow 30 s of clock skew on top).
const REUSE_FOR: Duration = Duration::from_secs(240);
/// The most principals kept; past it the cache starts over.
const MAX_CACHED: usize = 50_000;

/// Mints and caches internal tokens.
#[derive(Debug, Clone)]
pub struct InternalTokens {
    keys: TokenKeys,
    cache: Arc<RwLock<HashMap<Principal, (HeaderValue, Instant)>>>,
}

impl InternalTokens {
    pub fn new(keys: TokenKeys) -> InternalTokens {
        InternalTokens {
            keys,
            cache: Arc::default(),
        }
    }

    /// The `authorization` value to pass on for `principal`.
    pub fn authorization(&self, principal: &Principal) -> HeaderValue {
        if let Some((value, minted)) = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.get(principal).cloned())
            && minted.elapsed() < REUSE_FOR
        {
            return value;
        }
        // Factory and carrier systems are system callers to the services; the gateway's
        // permission table is what narrows them.
        let passed_on = if principal.has_role(Role::Factory) || principal.has_role(Role::Carrier) {
            principal.clone().with_role(Role::System)
        } else {
            principal.clone()
        };
        let token = self.keys.mint(&passed_on, TOKEN_TTL_SECS);
        // A JWT is base64url and dots: always a valid header value.
        let value = HeaderValue::try_from(format!("Bearer {token}"))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(principal.clone(), (value.clone(), Instant::now()));
        }
        value
    }
}

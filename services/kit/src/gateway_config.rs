//! The gateway's settings: validated with the rest of the configuration, so that a bad
//! certificate path or rate reaches the operator at start, not on the first call.

use std::{path::PathBuf, time::Duration};

use crate::{auth::Role, config::Layer};

/// Default sustained calls per second of one organisation.
pub const DEFAULT_RATE_PER_ORG: u32 = 200;
/// Default bucket depth: how many calls an organisation may make at once after a pause.
pub const DEFAULT_BURST: u32 = 400;
/// Default longest deadline of a call.
pub const DEFAULT_MAX_DEADLINE_MS: u64 = 30_000;
/// Default time a verified API key is trusted before it is looked up again (and hence the
/// longest a key revoked elsewhere — another replica, `dealernet apikey revoke` — still
/// works on this gateway).
pub const DEFAULT_API_KEY_CACHE_TTL_SECS: u64 = 5;
/// Longest accepted `api_key_cache_ttl_secs`: a revoked key would work too long.
pub const MAX_API_KEY_CACHE_TTL_SECS: u64 = 300;
/// Accepted values of `max_deadline_ms`: from 100 ms to an hour.
pub const MAX_DEADLINE_MS_BOUNDS: std::ops::RangeInclusive<u64> = 100..=3_600_000;

/// Validated gateway settings.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Certificate chain and private key (PEM) of the public listener; `None`: plaintext.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Origins allowed to call from a browser (gRPC-Web); `*` allows any.
    pub cors_allowed_origins: Vec<String>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub jwt_public_key_file: Option<PathBuf>,
    pub jwt_jwks_file: Option<PathBuf>,
    pub rate_limits: RateLimits,
    pub max_deadline: Duration,
    pub api_key_cache_ttl: Duration,
}

/// Token-bucket settings: one bucket per organisation, refilled at `per_org_rps` unless
/// the caller holds a role with an override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub per_org_rps: u32,
    pub burst: u32,
    pub per_role_rps: Vec<(Role, u32)>,
}

impl GatewaySettings {
    /// Reads the gateway keys of `layer`, adding every problem to `problems`.
    pub(crate) fn from_layer(layer: &Layer, problems: &mut Vec<String>) -> GatewaySettings {
        let tls = match (&layer.tls_cert_file, &layer.tls_key_file) {
            (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
            (None, None) => None,
            _ => {
                problems.push(
                    "tls_cert_file, tls_key_file: set both (TLS on) or neither (plaintext)".into(),
                );
                None
            }
        };
        let cors_allowed_origins = layer.cors_allowed_origins.clone().unwrap_or_default();
        for origin in &cors_allowed_origins {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.ends_with('/')
                    && http::HeaderValue::from_str(origin).is_ok());
            if !ok {
                problems.push(format!(
                    "cors_allowed_origins: '{origin}' is not an origin like https://console.example.com"
                ));
            }
        }
        if layer.jwt_public_key_file.is_some() && layer.jwt_jwks_file.is_some() {
            problems.push("jwt_public_key_file, jwt_jwks_file: set one of them, not both".into());
        }
        let per_org_rps = layer.rate_limit_per_org_rps.unwrap_or(DEFAULT_RATE_PER_ORG);
        let burst = layer.rate_limit_burst.unwrap_or(DEFAULT_BURST);
        if per_org_rps == 0 {
            problems.push("rate_limit_per_org_rps: must be at least 1".into());
        }
        if burst == 0 {
            problems.push("rate_limit_burst: must be at least 1".into());
        }
        let mut per_role_rps = Vec::new();
        for item in layer.rate_limit_role_rps.iter().flatten() {
            let parsed = item.split_once('=').and_then(|(role, rps)| {
                let role = role.trim().parse::<Role>().ok()?;
                let rps = rps.trim().parse::<u32>().ok().filter(|n| *n > 0)?;
                Some((role, rps))
            });
            match parsed {
                Some(pair) => per_role_rps.push(pair),
                None => problems.push(format!(
                    "rate_limit_role_rps: '{item}' is not role=rps with a known role and a rate of at least 1"
                )),
            }
        }
        let max_deadline_ms = layer.max_deadline_ms.unwrap_or(DEFAULT_MAX_DEADLINE_MS);
        if !MAX_DEADLINE_MS_BOUNDS.contains(&max_deadline_ms) {
            problems.push(format!(
                "max_deadline_ms: must be between {} and {}",
                MAX_DEADLINE_MS_BOUNDS.start(),
                MAX_DEADLINE_MS_BOUNDS.end()
            ));
        }
        let ttl = layer
            .api_key_cache_ttl_secs
            .unwrap_or(DEFAULT_API_KEY_CACHE_TTL_SECS);
        if ttl > MAX_API_KEY_CACHE_TTL_SECS {
            problems.push(format!(
                "api_key_cache_ttl_secs: at most {MAX_API_KEY_CACHE_TTL_SECS} (a revoked key would work too long)"
            ));
        }
        GatewaySettings {
            tls,
            cors_allowed_origins,
            jwt_issuer: layer.jwt_issuer.clone(),
            jwt_audience: layer.jwt_audience.clone(),
            jwt_public_key_file: layer.jwt_public_key_file.as_ref().map(PathBuf::from),
            jwt_jwks_file: layer.jwt_jwks_file.as_ref().map(PathBuf::from),
            rate_limits: RateLimits {
                per_org_rps,
                burst,
                per_role_rps,
            },
            max_deadline: Duration::from_millis(max_deadline_ms),
            api_key_cache_ttl: Duration::from_secs(ttl),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use crate::config::{Config, ServiceKind};

    use super::*;

    fn complete() -> Layer {
        let key = || Some(SecretString::from("k".repeat(32)));
        Layer {
            jwt_secret: key(),
            id_hash_key: key(),
            page_token_key: key(),
            ..Layer::default()
        }
    }

    #[test]
    fn the_gateway_alone_needs_every_backend_address() {
        let alone = Layer {
            services: Some(vec!["gateway".into()]),
            ..complete()
        };
        let err = Config::from_layer(alone.clone())
            .expect_err("no backends")
            .0;
        for key in [
            "customers_url",
            "vehicles_url",
            "callcenter_url",
            "dealers_url",
        ] {
            assert!(err.contains(key), "{key} not in {err}");
        }
        let env = Layer::from_lookup(|k| match k {
            "DEALERNET_CUSTOMERS_URL" => Some("http://customers:50051".into()),
            "DEALERNET_VEHICLES_URL" => Some("http://vehicles:50051".into()),
            "DEALERNET_CALLCENTER_URL" => Some("http://callcenter:50051".into()),
            "DEALERNET_DEALERS_URL" => Some("http://dealers:50051".into()),
            "DEALERNET_RATE_LIMIT_ROLE_RPS" => Some("agent=500, carrier=20".into()),
            "DEALERNET_CORS_ALLOWED_ORIGINS" => Some("https://console.example.com".into()),
            _ => None,
        })
        .expect("env");
        let config = Config::from_layer(alone.merge(env)).expect("valid");
        assert_eq!(config.services, [ServiceKind::Gateway]);
        assert_eq!(
            config.gateway.rate_limits.per_role_rps,
            [(Role::Agent, 500), (Role::Carrier, 20)]
        );
        assert_eq!(
            config.gateway.cors_allowed_origins,
            ["https://console.example.com"]
        );
        let default = Config::from_layer(complete()).expect("valid");
        assert!(!default.services.contains(&ServiceKind::Gateway));
    }

    #[test]
    fn bad_gateway_settings_are_reported() {
        let bad = Layer {
            tls_cert_file: Some("cert.pem".into()),
            cors_allowed_origins: Some(vec!["console.example.com".into()]),
            rate_limit_per_org_rps: Some(0),
            rate_limit_role_rps: Some(vec!["pilot=3".into()]),
            max_deadline_ms: Some(5),
            ..complete()
        };
        let err = Config::from_layer(bad).expect_err("invalid").0;
        for needle in [
            "tls_key_file",
            "cors_allowed_origins",
            "rate_limit_per_org_rps",
            "pilot=3",
            "max_deadline_ms",
        ] {
            assert!(err.contains(needle), "{needle} not in {err}");
        }
    }
}

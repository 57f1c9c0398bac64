//! The checks every call passes at the front door, in this order: a credential (JWT or
//! API key) → a known method → the permission table → the organisation's rate limit →
//! the deadline. Only then is the call rewritten for the services (the caller's
//! credential replaced by an internal token, request id and trace context set) and
//! passed on. Health and reflection are public, as on every service.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use dealernet_kit::{
    auth::Principal,
    error::{self, FieldViolations},
    metrics::Metrics,
    server::{REQUEST_ID_HEADER, RequestId},
};
use http::{HeaderMap, HeaderValue, Request, Response};
use tonic::{Code, Status, body::Body};
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

use crate::{
    apikeys::{self, ApiKeys},
    catalogue::Catalogue,
    deadline,
    internal_token::InternalTokens,
    jwt::JwtVerifier,
    permissions,
    rate_limit::OrgRateLimiter,
};

/// Paths anyone may call, answered by the gateway itself.
const PUBLIC_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Time the gateway waits past a call's deadline for the service's own
/// DEADLINE_EXCEEDED before it answers so itself.
const DEADLINE_GRACE: Duration = Duration::from_millis(200);

/// What the checks need, shared by every connection.
#[derive(Debug)]
pub struct EdgeState {
    pub catalogue: Catalogue,
    pub jwt: JwtVerifier,
    pub api_keys: ApiKeys,
    pub rate_limiter: OrgRateLimiter,
    pub internal_tokens: InternalTokens,
    pub max_deadline: Duration,
    /// Counts rate-limited calls (the other refusals show in the calls' status codes).
    pub metrics: Metrics,
}

#[derive(Debug, Clone)]
pub struct EdgeLayer {
    state: Arc<EdgeState>,
}

impl EdgeLayer {
    pub fn new(state: Arc<EdgeState>) -> EdgeLayer {
        EdgeLayer { state }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Edge {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Edge<S> {
    inner: S,
    state: Arc<EdgeState>,
}

type BoxFuture<T, E> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

impl<S, B> Service<Request<B>> for Edge<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Response<Body>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        if PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
            return Box::pin(self.inner.call(request));
        }
        // The clone that was made ready is the one to call (tower's readiness contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move {
            let deadline = match admit(&state, &mut request).await {
                Ok(deadline) => deadline,
                Err(status) => return Ok(status.into_http()),
            };
            let call = inner.call(request);
            match deadline {
                None => call.await,
                Some(d) => match tokio::time::timeout(d + DEADLINE_GRACE, call).await {
                    Ok(Ok(response)) => {
                        let end = tokio::time::Instant::now() + d + DEADLINE_GRACE;
                        Ok(response.map(|body| Body::new(deadline::Bounded::new(body, end))))
                    }
                    Ok(Err(e)) => Err(e),
                    Err(_) => Ok(error::refusal(
                        Code::DeadlineExceeded,
                        "DEADLINE_EXCEEDED",
                        format!(
                            "no answer within the call's deadline of {} ms",
                            d.as_millis()
                        ),
                        [],
                    )
                    .into_http()),
                },
            }
        })
    }
}

/// Runs the checks; on success the request is rewritten for the services and the call's
/// deadline (if it has one) returned.
async fn admit<B>(state: &EdgeState, request: &mut Request<B>) -> Result<Option<Duration>, Status> {
    let principal = authenticate(state, request.headers()).await?;
    tracing::Span::current().record("org", principal.organization());
    let path = request.uri().path();
    let method = state.catalogue.method(path).ok_or_else(|| {
        error::refusal(
            Code::Unimplemented,
            "METHOD_NOT_FOUND",
            format!("no such method: {path}"),
            [],
        )
    })?;
    if !permissions::permits(&method.name, principal.roles()) {
        let roles: Vec<&str> = principal.roles().iter().map(|r| r.name()).collect();
        tracing::debug!(method = %method.name, "call refused: method not allowed");
        return Err(error::refusal(
            Code::PermissionDenied,
            "METHOD_NOT_ALLOWED",
            format!("role(s) {} may not call {}", roles.join(","), method.name),
            [("method", method.name.clone()), ("roles", roles.join(","))],
        ));
    }
    if let Err(limited) = state.rate_limiter.check(&principal) {
        state.metrics.count_rate_limited(limited.class);
        return Err(rate_limited(principal.organization(), limited.wait));
    }
    let headers = request.headers_mut();
    let client_deadline = match headers.get("grpc-timeout") {
        None => None,
        Some(v) => Some(v.to_str().ok().and_then(deadline::parse).ok_or_else(|| {
            error::invalid_argument(
                "INVALID_ARGUMENT",
                &FieldViolations::one("grpc-timeout", "not a gRPC timeout such as 500m or 2S"),
            )
        })?),
    };
    let deadline = match client_deadline {
        Some(d) => Some(d.min(state.max_deadline)),
        None if !method.server_streaming => Some(state.max_deadline),
        None => None,
    };
    if let Some(d) = deadline
        && let Ok(value) = HeaderValue::try_from(deadline::format(d))
    {
        headers.insert("grpc-timeout", value);
    }
    headers.remove("x-api-key");
    headers.insert(
        http::header::AUTHORIZATION,
        state.internal_tokens.authorization(&principal),
    );
    if !headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .is_some_and(valid_traceparent)
        && let Ok(value) = HeaderValue::try_from(new_traceparent())
    {
        headers.insert("traceparent", value);
    }
    if let Some(id) = request.extensions().get::<RequestId>().cloned()
        && let Ok(value) = HeaderValue::try_from(id.0)
    {
        request.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    request.extensions_mut().insert(principal);
    Ok(deadline)
}

fn unauthenticated(reason: &str, message: impl Into<String>) -> Status {
    error::refusal(Code::Unauthenticated, reason, message, [])
}

/// The caller's principal from `x-api-key`, or from `authorization: Bearer` (a JWT, or an
/// API key sent the common way).
async fn authenticate(state: &EdgeState, headers: &HeaderMap) -> Result<Principal, Status> {
    let ascii = |name: &str| -> Result<Option<&str>, Status> {
        headers
            .get(name)
            .map(|v| {
                v.to_str().map_err(|_| {
                    unauthenticated("CREDENTIALS_MALFORMED", format!("{name} is not ASCII"))
                })
            })
            .transpose()
    };
    let api_key = match (ascii("x-api-key")?, ascii("authorization")?) {
        (Some(key), _) => key.trim(),
        (None, Some(value)) => {
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or_else(|| {
                    unauthenticated(
                        "CREDENTIALS_MALFORMED",
                        "authorization must be 'Bearer <token>'",
                    )
                })?
                .trim();
            if !apikeys::is_api_key(token) {
                return state.jwt.verify(token).map_err(|e| {
                    tracing::debug!(error = %e, "call refused: bad token");
                    unauthenticated(e.reason(), e.to_string())
                });
            }
            token
        }
        (None, None) => {
            return Err(unauthenticated(
                "CREDENTIALS_MISSING",
                "send 'authorization: Bearer <token>' or 'x-api-key: <key>'",
            ));
        }
    };
    state.api_keys.verify(api_key).await.map_err(|e| {
        tracing::debug!(error = %e, "call refused: bad api key");
        match e {
            apikeys::KeyRejection::Unavailable => error::unavailable(e.reason(), e.to_string()),
            _ => unauthenticated(e.reason(), e.to_string()),
        }
    })
}

/// RESOURCE_EXHAUSTED with `RetryInfo` saying when the bucket has room again.
fn rate_limited(org: &str, wait: Duration) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "RATE_LIMITED",
        dealernet_kit::ERROR_DOMAIN,
        [("organization".to_owned(), org.to_owned())]
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    );
    details.set_retry_info(Some(wait.max(Duration::from_millis(1))));
    Status::with_error_details(
        Code::ResourceExhausted,
        format!(
            "rate limit of organisation {org} reached; retry in {} ms",
            wait.as_millis().max(1)
        ),
        details,
    )
}

/// `00-<32 hex>-<16 hex>-<2 hex>`, lower-case, trace id not all zeros.
fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    parts.len() >= 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && (parts[0] != "00" || parts.len() == 4)
        && hex(parts[1], 32)
        && parts[1].bytes().any(|b| b != b'0')
        && hex(parts[2], 16)
        && parts[2].bytes().any(|b| b != b'0')
        && hex(parts[3], 2)
}

/// A new trace for a call that came without one, so that the services' log lines of the
/// call share a trace id.
fn new_traceparent() -> String {
    let trace = uuid::Uuid::now_v7().simple().to_string();
    let span = uuid::Uuid::now_v7().simple().to_string();
    format!("00-{trace}-{}-00", &span[16..])
}

#[cfg(test)]
mod tests {
    use dealernet_kit::{
        auth::{Role, TokenKeys},
        config::RateLimits,
    };
    use secrecy::SecretString;

    use super::*;

    const SECRET: &str = "edge-test-secret-edge-test-secret-012345";
    const GET_CUSTOMER: &str = "/dealernet.customers.v1.CustomerService/GetCustomer";

    /// Edge state whose API-key store is never reached (these calls carry JWTs).
    fn state() -> EdgeState {
        let secret = SecretString::from(SECRET);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("a lazy pool");
        EdgeState {
            catalogue: Catalogue::platform(),
            jwt: JwtVerifier::hs256(&secret),
            api_keys: ApiKeys::new(pool, Duration::ZERO),
            rate_limiter: OrgRateLimiter::new(&RateLimits {
                per_org_rps: 100,
                burst: 100,
                per_role_rps: vec![],
            }),
            internal_tokens: InternalTokens::new(TokenKeys::new(secret)),
            max_deadline: Duration::from_secs(2),
            metrics: Metrics::new(&[]),
        }
    }

    fn request(path: &str, role: Role, headers: &[(&'static str, &str)]) -> Request<()> {
        let keys = TokenKeys::new(SecretString::from(SECRET));
        let principal = Principal::new("someone", "PLANT-SH", &[role]).expect("principal");
        let mut request = Request::builder()
            .uri(path)
            .header(
                "authorization",
                format!("Bearer {}", keys.mint(&principal, 60)),
            )
            .body(())
            .expect("request");
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, HeaderValue::from_str(value).expect("ascii"));
        }
        request.extensions_mut().insert(RequestId("rid-1".into()));
        request
    }

    fn header<'a>(request: &'a Request<()>, name: &str) -> &'a str {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn admitted_calls_are_rewritten_for_the_services() {
        let state = state();
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut call = request(
            GET_CUSTOMER,
            Role::System,
            &[("grpc-timeout", "60S"), ("traceparent", trace)],
        );
        let original = header(&call, "authorization").to_owned();
        let deadline = admit(&state, &mut call).await.expect("admitted");
        assert_eq!(
            deadline,
            Some(Duration::from_secs(2)),
            "capped at the maximum"
        );
        assert_eq!(header(&call, "grpc-timeout"), "2000000u");
        assert_eq!(header(&call, "traceparent"), trace, "passed on as it came");
        assert_eq!(header(&call, REQUEST_ID_HEADER), "rid-1");
        let passed_on = header(&call, "authorization");
        assert_ne!(
            passed_on, original,
            "the caller's credential stays at the edge"
        );
        let seen = TokenKeys::new(SecretString::from(SECRET))
            .verify(passed_on.trim_start_matches("Bearer "))
            .expect("the services verify it");
        assert_eq!(
            (seen.subject(), seen.organization()),
            ("someone", "PLANT-SH")
        );

        // No trace: one is started. A client deadline under the maximum is kept.
        let mut call = request(GET_CUSTOMER, Role::System, &[("grpc-timeout", "250m")]);
        assert_eq!(
            admit(&state, &mut call).await.expect("admitted"),
            Some(Duration::from_millis(250))
        );
        assert!(valid_traceparent(header(&call, "traceparent")));
        // A bad timeout is invalid input.
        let mut call = request(GET_CUSTOMER, Role::System, &[("grpc-timeout", "soon")]);
        let status = admit(&state, &mut call).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
    }

    #[tokio::test]
    async fn machine_roles_reach_the_services_as_system_callers() {
        let state = state();
        let mut call = request(
            "/dealernet.vehicles.v1.VehicleService/RegisterProduction",
            Role::Factory,
            &[],
        );
        admit(&state, &mut call)
            .await
            .expect("the factory may register");
        let seen = TokenKeys::new(SecretString::from(SECRET))
            .verify(header(&call, "authorization").trim_start_matches("Bearer "))
            .expect("verifies");
        assert!(seen.has_role(Role::System) && seen.has_role(Role::Factory));
        let mut call = request(GET_CUSTOMER, Role::Factory, &[]);
        let status = admit(&state, &mut call)
            .await
            .expect_err("not the factory's");
        assert_eq!(status.code(), Code::PermissionDenied);
    }

    #[test]
    fn traceparents() {
        assert!(valid_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(valid_traceparent(&new_traceparent()));
        assert!(!valid_traceparent(
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        ));
        assert!(!valid_traceparent("garbage"));
    }

    #[test]
    fn rate_limited_calls_carry_retry_info() {
        let status = rate_limited("D1001", Duration::from_millis(250));
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        assert_eq!(
            details.retry_info().and_then(|r| r.retry_delay),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            details.error_info().map(|i| i.reason.as_str()),
            Some("RATE_LIMITED")
        );
    }
}

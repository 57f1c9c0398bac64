//! The API-key RPCs of `GatewayService`: proto ↔ [`ApiKeys`], and the one error mapping.

use chrono::{DateTime, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    error::{self, FieldViolations},
    paging::PageTokens,
};
use dealernet_proto::gateway::v1 as pb;
use tonic::{Code, Status};

use super::{ApiKeyRow, ApiKeys, IssueError, IssueRequest, ListFilter, is_active};

/// Only head-office managers handle keys; the gateway's table says so too, and this
/// check holds for calls that reach the service some other way.
fn require_hq(principal: &Principal) -> Result<(), Status> {
    if principal.is_head_office() && principal.has_role(Role::Hq) {
        Ok(())
    } else {
        Err(error::refusal(
            Code::PermissionDenied,
            "HQ_ONLY",
            "only head office (role hq) manages API keys",
            [],
        ))
    }
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn to_proto(row: &ApiKeyRow) -> pb::ApiKey {
    let now = Utc::now();
    let state = if row.revoke_time.is_some() {
        pb::ApiKeyState::Revoked
    } else if is_active(row, now) {
        pb::ApiKeyState::Active
    } else {
        pb::ApiKeyState::Expired
    };
    pb::ApiKey {
        name: format!("apiKeys/{}", row.prefix),
        display_name: row.display_name.clone(),
        organization: row.organization.clone(),
        roles: row.roles.clone(),
        expire_time: row.expire_time.map(timestamp),
        create_time: Some(timestamp(row.create_time)),
        creator: row.creator.clone(),
        revoke_time: row.revoke_time.map(timestamp),
        state: state as i32,
    }
}

fn db_error(e: &sqlx::Error) -> Status {
    dealernet_kit::db::status(e)
}

/// `apiKeys/{prefix}` → prefix.
fn prefix_of(name: &str) -> Result<&str, Status> {
    name.strip_prefix("apiKeys/")
        .filter(|p| p.len() == 12 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            error::invalid_argument(
                "INVALID_ARGUMENT",
                &FieldViolations::one("name", "must be apiKeys/{12 hex digits}"),
            )
        })
}

fn not_found(name: &str) -> Status {
    error::not_found("API_KEY_NOT_FOUND", "dealernet.gateway.v1.ApiKey", name)
}

pub async fn create(
    keys: &ApiKeys,
    principal: &Principal,
    req: pb::CreateApiKeyRequest,
) -> Result<pb::CreateApiKeyResponse, Status> {
    require_hq(principal)?;
    let Some(key) = req.api_key else {
        return Err(error::invalid_argument(
            "INVALID_ARGUMENT",
            &FieldViolations::one("api_key", "required"),
        ));
    };
    let expire_time = match key.expire_time {
        None => None,
        Some(t) => match DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32) {
            Some(t) => Some(t),
            None => {
                return Err(error::invalid_argument(
                    "INVALID_ARGUMENT",
                    &FieldViolations::one("api_key.expire_time", "not a valid timestamp"),
                ));
            }
        },
    };
    let request = IssueRequest {
        display_name: key.display_name,
        organization: key.organization,
        roles: key.roles,
        expire_time,
        request_id: req.request_id,
    };
    let creator = format!("{}@{}", principal.subject(), principal.organization());
    match keys.issue(&creator, request).await {
        Ok(issued) => {
            tracing::info!(key = %issued.row.prefix, org = %issued.row.organization, "api key issued");
            Ok(pb::CreateApiKeyResponse {
                api_key: Some(to_proto(&issued.row)),
                secret: issued.secret,
            })
        }
        Err(IssueError::Invalid(v)) => Err(error::invalid_argument("INVALID_ARGUMENT", &v)),
        Err(IssueError::AlreadyIssued(name)) => Err(error::refusal(
            Code::AlreadyExists,
            "API_KEY_ALREADY_ISSUED",
            format!("{name} was issued for this request id; its secret is not shown again"),
            [("name", name.clone())],
        )),
        Err(IssueError::Random(e)) => Err(error::internal(&e)),
        Err(IssueError::Db(e)) => Err(db_error(&e)),
    }
}

pub async fn get(
    keys: &ApiKeys,
    principal: &Principal,
    req: pb::GetApiKeyRequest,
) -> Result<pb::GetApiKeyResponse, Status> {
    require_hq(principal)?;
    let prefix = prefix_of(&req.name)?;
    match keys.get(prefix).await {
        Ok(Some(row)) => Ok(pb::GetApiKeyResponse {
            api_key: Some(to_proto(&row)),
        }),
        Ok(None) => Err(not_found(&req.name)),
        Err(e) => Err(db_error(&e)),
    }
}

pub async fn list(
    keys: &ApiKeys,
    page_tokens: &PageTokens,
    principal: &Principal,
    req: pb::ListApiKeysRequest,
) -> Result<pb::ListApiKeysResponse, Status> {
    require_hq(principal)?;
    let mut v = FieldViolations::new();
    let organization = (!req.organization.is_empty()).then(|| req.organization.clone());
    if let Some(org) = &organization
        && let Err(e) = Principal::new("x", org, &[Role::System])
    {
        v.add("organization", e);
    }
    let filters = format!("{}\n{}", req.organization, req.show_inactive);
    let (size, after) = page_tokens.page::<(i64, String)>(
        &mut v,
        req.page_size,
        &req.page_token,
        filters.as_bytes(),
    );
    v.into_result()
        .map_err(|v| error::invalid_argument("INVALID_ARGUMENT", &v))?;
    let filter = ListFilter {
        organization,
        show_inactive: req.show_inactive,
        after: after.and_then(|(micros, prefix)| {
            DateTime::from_timestamp_micros(micros).map(|t| (t, prefix))
        }),
        limit: size as i64 + 1,
    };
    let rows = keys.list(&filter).await.map_err(|e| db_error(&e))?;
    let next_page_token = if rows.len() > size {
        rows.get(size.saturating_sub(1))
            .map(|last| {
                page_tokens.seal(
                    &(last.create_time.timestamp_micros(), last.prefix.clone()),
                    filters.as_bytes(),
                )
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(pb::ListApiKeysResponse {
        api_keys: rows.iter().take(size).map(to_proto).collect(),
        next_page_token,
    })
}

pub async fn revoke(
    keys: &ApiKeys,
    principal: &Principal,
    req: pb::RevokeApiKeyRequest,
) -> Result<pb::RevokeApiKeyResponse, Status> {
    require_hq(principal)?;
    let prefix = prefix_of(&req.name)?;
    match keys.revoke(prefix).await {
        Ok(Some(row)) => {
            tracing::info!(key = %row.prefix, "api key revoked");
            Ok(pb::RevokeApiKeyResponse {
                api_key: Some(to_proto(&row)),
            })
        }
        Ok(None) => Err(not_found(&req.name)),
        Err(e) => Err(db_error(&e)),
    }
}

//! The gRPC face of the dealer service: the `DealerService` trait (grpc.rs), one module
//! per resource, and what every handler shares (who the caller is, idempotency, paging).

mod convert;
mod events;
mod grpc;
mod lead;
mod lead_flow;
mod locator;
mod outlet;
mod outlet_input;
mod ranking;
mod scorecard;
mod staff;

use dealernet_kit::{
    auth::{Principal, Role},
    idempotency::{self, Begin, IdempotencyKey},
    paging::PageTokens,
};
use prost::Message;
use sqlx::PgConnection;

use crate::Error;

type Result<T> = std::result::Result<T, Error>;

/// Who is calling, as far as object-level rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller<'a> {
    /// HQ (organisation HQ, role hq or steward): everything.
    HeadOffice,
    /// Another service or a channel system (role system): reads, checks, lead creation.
    System,
    /// The hotline (role agent): creates, reads and reassigns leads.
    Hotline,
    /// An outlet's staff (role dealer or station): their own outlet only.
    Outlet(&'a str),
    /// Anyone else with a valid token: public outlet information only.
    Other,
}

impl Caller<'_> {
    pub(crate) fn of(p: &Principal) -> Caller<'_> {
        if p.is_head_office() {
            Caller::HeadOffice
        } else if p.has_role(Role::System) {
            Caller::System
        } else if p.has_role(Role::Agent) {
            Caller::Hotline
        } else if p.has_role(Role::Dealer) || p.has_role(Role::Station) {
            Caller::Outlet(p.organization())
        } else {
            Caller::Other
        }
    }

    /// HQ, or the outlet's own staff.
    pub(crate) fn manages(self, outlet: &str) -> bool {
        match self {
            Caller::HeadOffice => true,
            Caller::Outlet(own) => own == outlet,
            _ => false,
        }
    }

    /// HQ, systems, the hotline, or the outlet's own staff.
    pub(crate) fn reads(self, outlet: &str) -> bool {
        matches!(self, Caller::HeadOffice | Caller::System | Caller::Hotline)
            || self.manages(outlet)
    }
}

pub(crate) fn require_head_office(principal: &Principal, action: &str) -> Result<()> {
    if principal.is_head_office() {
        return Ok(());
    }
    Err(Error::denied(
        "HQ_ROLE_REQUIRED",
        format!("{action} needs an HQ principal with role hq or steward"),
    ))
}

pub(crate) fn not_your_outlet(principal: &Principal, outlet: &str) -> Error {
    Error::denied(
        "NOT_YOUR_OUTLET",
        format!(
            "{} cannot act for outlet {outlet}",
            principal.organization()
        ),
    )
}

/// The response saved by an earlier attempt with the same request id, if any.
async fn replay<R: Message + Default>(
    tx: &mut PgConnection,
    key: Option<&IdempotencyKey>,
) -> Result<Option<R>> {
    match key {
        Some(key) => match idempotency::begin(tx, key).await? {
            Begin::Replay(r) => Ok(Some(r)),
            Begin::Fresh => Ok(None),
        },
        None => Ok(None),
    }
}

/// Saves the response with its idempotency key, commits the change, answers.
async fn commit<R: Message>(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    key: Option<&IdempotencyKey>,
    response: R,
    resource: &str,
) -> Result<R> {
    if let Some(key) = key {
        idempotency::finish(&mut tx, key, &response, Some(resource)).await?;
    }
    tx.commit().await?;
    Ok(response)
}

/// Cuts a page fetched with one extra row down to `size`; the token for the next page
/// (the cursor of its last row — a code or a UUID — bound to `filters`) when there is
/// one, else "".
fn next_page<T>(
    tokens: &PageTokens,
    rows: &mut Vec<T>,
    size: usize,
    filters: &[u8],
    cursor: impl Fn(&T) -> String,
) -> String {
    if rows.len() <= size {
        return String::new();
    }
    rows.truncate(size);
    rows.last()
        .map(|last| tokens.seal(&cursor(last), filters))
        .unwrap_or_default()
}

//! Idempotent mutations keyed by the request's `request_id`.
//!
//! The key row is inserted in the same transaction as the change and the response is saved
//! there before commit, so a retry either replays the committed answer or — if the first
//! attempt rolled back — runs again. A concurrent duplicate blocks on the key row's unique
//! index until the first attempt commits, then replays it. Every service schema has the
//! table (see the service's first migration):
//!
//! ```sql
//! CREATE TABLE idempotency (
//!     scope text, request_id text, method text, request_hash bytea, response bytea,
//!     resource text, created_at timestamptz DEFAULT now(), PRIMARY KEY (scope, request_id));
//! ```

use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::{auth::Principal, error::FieldViolations};

/// Longest accepted `request_id`.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Identifies one logical mutation: who sent it, its id, and a hash of what was asked.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    scope: String,
    request_id: String,
    method: &'static str,
    request_hash: Vec<u8>,
}

impl IdempotencyKey {
    /// The key for `request`, or `None` when the client sent no `request_id`.
    ///
    /// Ids are scoped by organisation so that two dealers' POS systems cannot collide.
    pub fn new<M: Message>(
        principal: &Principal,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Result<Option<IdempotencyKey>, FieldViolations> {
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.len() > MAX_REQUEST_ID_LEN
            || !request_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(FieldViolations::one(
                "request_id",
                format!(
                    "must be 1 to {MAX_REQUEST_ID_LEN} printable ASCII characters without spaces"
                ),
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(method.as_bytes());
        hasher.update([0]);
        hasher.update(request.encode_to_vec());
        Ok(Some(IdempotencyKey {
            scope: principal.organization().to_owned(),
            request_id: request_id.to_owned(),
            method,
            request_hash: hasher.finalize().to_vec(),
        }))
    }
}

/// What [`begin`] found.
#[derive(Debug)]
pub enum Begin<R> {
    /// First time this key is seen: do the work, then [`finish`].
    Fresh,
    /// Already done: return this saved response.
    Replay(R),
}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("request_id was already used for a different request")]
    Reused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("saved response cannot be decoded: {0}")]
    Corrupt(#[from] prost::DecodeError),
}

impl IdempotencyError {
    /// The status for a key that cannot be used (database failures go through `db::status`).
    pub fn status(&self) -> tonic::Status {
        match self {
            IdempotencyError::Reused => crate::error::invalid_argument(
                "REQUEST_ID_REUSED",
                &FieldViolations::one("request_id", self.to_string()),
            ),
            IdempotencyError::Database(e) => crate::db::status(e),
            IdempotencyError::Corrupt(e) => crate::error::internal(e),
        }
    }
}

/// Claims `key` inside `tx`, or returns the response saved by the earlier attempt.
pub async fn begin<R: Message + Default>(
    tx: &mut PgConnection,
    key: &IdempotencyKey,
) -> Result<Begin<R>, IdempotencyError> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency (scope, request_id, method, request_hash) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (scope, request_id) DO NOTHING",
    )
    .bind(&key.scope)
    .bind(&key.request_id)
    .bind(key.method)
    .bind(&key.request_hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Begin::Fresh);
    }
    let (hash, response): (Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT request_hash, response FROM idempotency WHERE scope = $1 AND request_id = $2",
    )
    .bind(&key.scope)
    .bind(&key.request_id)
    .fetch_one(&mut *tx)
    .await?;
    if hash != key.request_hash {
        return Err(IdempotencyError::Reused);
    }
    // The response is written in the same transaction as the key, so a visible key always
    // has one; an empty value would mean the row was written by something else.
    let bytes = response.unwrap_or_default();
    Ok(Begin::Replay(R::decode(bytes.as_slice())?))
}

/// Saves the response of a fresh attempt; call just before commit. `resource` names what
/// the response is about, so that erasing that resource can delete the saved copy too.
pub async fn finish<R: Message>(
    tx: &mut PgConnection,
    key: &IdempotencyKey,
    response: &R,
    resource: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency SET response = $3, resource = $4 WHERE scope = $1 AND request_id = $2",
    )
    .bind(&key.scope)
    .bind(&key.request_id)
    .bind(response.encode_to_vec())
    .bind(resource)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`begin`] for an optional key: the saved response of an earlier attempt, if any.
pub async fn replay<R: Message + Default>(
    tx: &mut PgConnection,
    key: Option<&IdempotencyKey>,
) -> Result<Option<R>, IdempotencyError> {
    match key {
        Some(key) => match begin(tx, key).await? {
            Begin::Replay(r) => Ok(Some(r)),
            Begin::Fresh => Ok(None),
        },
        None => Ok(None),
    }
}

/// Saves the response with its key (if any), commits the change, and hands the response
/// back to be sent.
pub async fn commit<R: Message>(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    key: Option<&IdempotencyKey>,
    response: R,
    resource: &str,
) -> Result<R, IdempotencyError> {
    if let Some(key) = key {
        finish(&mut tx, key, &response, Some(resource)).await?;
    }
    tx.commit().await?;
    crate::events::published();
    Ok(response)
}

/// Deletes keys older than `retention_hours`; returns how many went.
pub async fn purge(pool: &sqlx::PgPool, retention_hours: u64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM idempotency WHERE created_at < now() - make_interval(hours => $1)",
    )
    .bind(i32::try_from(retention_hours).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn request_ids_are_checked() {
        let p = Principal::new("u", "D1", &[Role::Dealer]).expect("valid");
        let msg = ();
        assert!(
            IdempotencyKey::new(&p, "m", "", &msg)
                .expect("ok")
                .is_none()
        );
        assert!(
            IdempotencyKey::new(&p, "m", "abc-123", &msg)
                .expect("ok")
                .is_some()
        );
        assert!(IdempotencyKey::new(&p, "m", "has space", &msg).is_err());
        assert!(IdempotencyKey::new(&p, "m", &"x".repeat(129), &msg).is_err());
    }
}

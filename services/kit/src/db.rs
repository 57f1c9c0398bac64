//! PostgreSQL access: one pool per service whose connections only see that service's
//! schema, migrations per schema, and SQLSTATE classification done once.

use std::{str::FromStr, time::Duration};

use sqlx::{
    Connection, PgConnection, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

/// Connection options for `url` whose `search_path` is `schema` alone, so that a service's
/// unqualified table names can only ever mean its own tables.
pub fn connect_options(url: &str, schema: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(url)?
        .application_name(&format!("dealernet-{schema}"))
        .options([("search_path", schema)]))
}

/// A pool for one service's schema.
pub async fn pool(url: &str, schema: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        // No ping before every acquire: it costs a round trip per request (measured +20%
        // GetCustomer throughput without it); a broken connection fails its query and is
        // dropped, and the client retries as it would for any UNAVAILABLE.
        .test_before_acquire(false)
        .connect_with(connect_options(url, schema)?)
        .await
}

/// Connections for autocommit point reads, kept checked out of `pool` between reads.
///
/// sqlx 0.8 (and 0.9) pings every connection as it goes back to its pool, in a task it
/// spawns: a second PostgreSQL round trip and two more wake-ups per read. A read that
/// completed leaves its connection idle and clean, so it is handed to the next read
/// directly. A read that failed or was cancelled drops its connection into sqlx's own
/// return, whose ping drains whatever the statement left behind.
#[derive(Debug, Clone)]
pub struct WarmReads {
    pool: PgPool,
    idle: std::sync::Arc<std::sync::Mutex<Vec<Warm>>>,
    capacity: usize,
}

#[derive(Debug)]
struct Warm {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    since: std::time::Instant,
}

/// How long a connection may stay out of sqlx's pool before it goes back through it (so
/// that sqlx's max-lifetime and health rules still apply).
const WARM_FOR: Duration = Duration::from_secs(120);

impl WarmReads {
    /// Keeps at most `capacity` idle connections of `pool` warm; the rest of the pool
    /// stays free for transactions.
    pub fn new(pool: PgPool) -> WarmReads {
        // Half the pool: the other half stays free for transactions and the audit writer.
        let capacity = (pool.options().get_max_connections() / 2) as usize;
        WarmReads {
            pool,
            idle: Default::default(),
            capacity,
        }
    }

    /// A connection for one or more autocommit statements.
    pub async fn acquire(&self) -> Result<WarmConnection, sqlx::Error> {
        let cached = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let warm = match cached {
            Some(warm) => warm,
            None => Warm {
                conn: self.pool.acquire().await?,
                since: std::time::Instant::now(),
            },
        };
        Ok(WarmConnection {
            owner: self.clone(),
            warm: Some(warm),
        })
    }
}

/// A connection from [`WarmReads`]; [`WarmConnection::release`] after a completed read.
#[derive(Debug)]
pub struct WarmConnection {
    owner: WarmReads,
    warm: Option<Warm>,
}

impl WarmConnection {
    /// The connection, for store functions.
    pub fn conn(&mut self) -> &mut PgConnection {
        match self.warm.as_mut() {
            Some(warm) => &mut warm.conn,
            None => unreachable!("a warm connection is only taken by release"),
        }
    }

    /// Hands the connection to the next read; call only when every statement completed.
    pub fn release(mut self) {
        let Some(warm) = self.warm.take() else { return };
        if warm.since.elapsed() >= WARM_FOR {
            return; // dropped: back through sqlx's pool
        }
        if let Ok(mut idle) = self.owner.idle.lock()
            && idle.len() < self.owner.capacity
        {
            idle.push(warm);
        }
    }
}

/// Creates `schema` if needed and applies `migrator` inside it. The migrations table
/// (`_sqlx_migrations`) lives in the schema too, so each service migrates independently.
pub async fn migrate(url: &str, schema: &str, migrator: &Migrator) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect_with(&connect_options(url, schema)?).await?;
    sqlx::query(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        quote_ident(schema)
    ))
    .execute(&mut conn)
    .await?;
    migrator.run(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Implements `as_str` / `parse` between an enum and the names stored in text columns.
#[macro_export]
macro_rules! db_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The name stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
            /// The value of a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

/// Double-quotes an identifier for the few statements that cannot take a bind parameter.
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// What a database error means to a caller, decided from its SQLSTATE in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbFailure {
    /// 23505: a unique index refused a row; carries the constraint name.
    UniqueViolation(String),
    /// 40001 / 40P01: the transaction lost a race and may simply be retried.
    Retryable,
    /// The database cannot be reached or the pool is exhausted.
    Unavailable,
    /// Anything else: a bug or an operational problem.
    Other,
}

/// Classifies a sqlx error.
pub fn classify(error: &sqlx::Error) -> DbFailure {
    match error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("23505") => DbFailure::UniqueViolation(db.constraint().unwrap_or("").to_owned()),
            Some("40001" | "40P01") => DbFailure::Retryable,
            Some(code) if code.starts_with("08") || code.starts_with("57P") => {
                DbFailure::Unavailable
            }
            _ => DbFailure::Other,
        },
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            DbFailure::Unavailable
        }
        _ => DbFailure::Other,
    }
}

/// Maps a database error that the service has no special meaning for onto a status.
pub fn status(error: &sqlx::Error) -> tonic::Status {
    match classify(error) {
        DbFailure::Unavailable => {
            tracing::warn!(error = %error, "database unavailable");
            crate::error::unavailable("DATABASE_UNAVAILABLE", "database unavailable, retry later")
        }
        DbFailure::Retryable => crate::error::refusal(
            tonic::Code::Aborted,
            "CONCURRENT_UPDATE",
            "the request lost a race with a concurrent one; retry it",
            [],
        ),
        _ => crate::error::internal(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("customers"), "\"customers\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn pool_errors_are_unavailable() {
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), DbFailure::Unavailable);
        assert_eq!(classify(&sqlx::Error::RowNotFound), DbFailure::Other);
    }
}

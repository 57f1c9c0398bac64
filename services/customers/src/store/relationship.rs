//! Relationship rows.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::relationship::{Relationship, RelationshipType};

/// The constraint that refuses the same link twice.
pub const UNIQUE_LINK: &str = "relationship_customer_id_related_id_type_key";

const COLUMNS: &str =
    "id, customer_id, related_id, type, valid_from, valid_to, recorded_by, create_time";

type Row = (
    Uuid,
    Uuid,
    Uuid,
    String,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
    String,
    chrono::DateTime<chrono::Utc>,
);

fn from_row(r: Row) -> Result<Relationship, sqlx::Error> {
    Ok(Relationship {
        id: r.0,
        customer_id: r.1,
        related_id: r.2,
        kind: RelationshipType::parse(&r.3).ok_or_else(|| {
            sqlx::Error::Decode(format!("unexpected relationship type '{}'", r.3).into())
        })?,
        valid_from: r.4,
        valid_to: r.5,
        recorded_by: r.6,
        create_time: r.7,
    })
}

pub async fn insert(conn: &mut PgConnection, r: &Relationship) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO relationship ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(r.id)
    .bind(r.customer_id)
    .bind(r.related_id)
    .bind(r.kind.as_str())
    .bind(r.valid_from)
    .bind(r.valid_to)
    .bind(&r.recorded_by)
    .bind(r.create_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A page of the relationships `customer` takes part in (either side), oldest first.
pub async fn list(
    conn: &mut PgConnection,
    customer: Uuid,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<Relationship>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM relationship WHERE (customer_id = $1 OR related_id = $1) AND id > $2 \
         ORDER BY id LIMIT $3"
    ))
    .bind(customer)
    .bind(after.unwrap_or_default())
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Deletes the relationship `id` of subject `customer`; false when there is none.
pub async fn delete(
    conn: &mut PgConnection,
    customer: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM relationship WHERE id = $1 AND customer_id = $2")
        .bind(id)
        .bind(customer)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

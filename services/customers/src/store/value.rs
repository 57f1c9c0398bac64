//! Customer value in PostgreSQL: the facts, the one recomputation that both the event
//! consumers and `dealernet segments rebuild` run (`value_figures.sql`, the pure scoring of
//! `domain::value`, `value_write.sql`), and the reads of the value RPCs.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::domain::value::{Figures, Rules, Tier, Value};

const FIGURES: &str = include_str!("../../sql/value_figures.sql");
const WRITE: &str = include_str!("../../sql/value_write.sql");

/// Longest merge chain followed; a longer one is corrupt data.
const MAX_MERGE_HOPS: usize = 16;

/// The customer whose value `id`'s facts count for — `id` itself, or the survivor it was
/// merged into (following chains) — read without locks. `None`: not in the registry.
async fn owner(conn: &mut PgConnection, id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE chain (id, state, merged_into, hops) AS ( \
             SELECT id, state, merged_into, 0 FROM customer WHERE id = $1 \
             UNION ALL \
             SELECT c.id, c.state, c.merged_into, chain.hops + 1 \
             FROM chain JOIN customer c ON c.id = chain.merged_into \
             WHERE chain.state = 'MERGED' AND chain.hops < $2 \
         ) SELECT id FROM chain ORDER BY hops DESC LIMIT 1",
    )
    .bind(id)
    .bind(MAX_MERGE_HOPS as i32)
    .fetch_optional(conn)
    .await
}

/// Locks the customer whose value `id`'s facts count for, and returns it; `None` when
/// `id` is not in the registry.
///
/// Only that survivor is locked (FOR NO KEY UPDATE, which foreign keys' KEY SHARE locks do
/// not wait for), as merges, unmerges, erasures and the rebuild lock it too: every
/// recomputation of a customer runs after the previous one committed and reads its facts.
/// Merges and unmerges change a chain only under its survivor's lock, so the chain read
/// again once the lock is held stands still.
pub async fn lock_owner(conn: &mut PgConnection, id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    for _ in 0..MAX_MERGE_HOPS {
        let Some(root) = owner(conn, id).await? else {
            return Ok(None);
        };
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM customer WHERE id = $1 FOR NO KEY UPDATE")
                .bind(root)
                .fetch_optional(&mut *conn)
                .await?;
        if state.as_deref() != Some("MERGED") && owner(conn, id).await? == Some(root) {
            return Ok(Some(root));
        }
    }
    Err(sqlx::Error::Protocol(format!(
        "customer {id}: its survivor kept moving or the merge chain is longer than {MAX_MERGE_HOPS}"
    )))
}

/// Recomputes the value rows of `ids` (locked by the caller) from their facts, and the
/// segment counts with them. Returns how many customers have a value row now.
pub async fn recompute(
    conn: &mut PgConnection,
    ids: &[Uuid],
    rules: &Rules,
) -> Result<usize, sqlx::Error> {
    let rows = sqlx::query(FIGURES)
        .bind(ids)
        .bind(rules.recent_surveys)
        .fetch_all(&mut *conn)
        .await?;
    let mut computed = Vec::with_capacity(rows.len());
    for row in rows {
        let figures = Figures {
            purchases: row.try_get("purchases")?,
            sales_minor: row.try_get("sales_minor")?,
            service_visits: row.try_get("service_visits")?,
            service_minor: row.try_get("service_minor")?,
            cars: row.try_get("cars")?,
            cars_serviced: row.try_get("cars_serviced")?,
            first_activity_at: row.try_get("first_activity_at")?,
            last_activity_at: row.try_get("last_activity_at")?,
            surveys: row.try_get("surveys")?,
            recent_surveys: row.try_get("recent_surveys")?,
            recent_satisfaction_sum: row.try_get("recent_satisfaction_sum")?,
            recent_promoters: row.try_get("recent_promoters")?,
            recent_detractors: row.try_get("recent_detractors")?,
            complaints: row.try_get("complaints")?,
            complaints_since_survey: row.try_get("complaints_since_survey")?,
        };
        let id: Uuid = row.try_get("id")?;
        let province: String = row.try_get("province")?;
        computed.push((id, province, Value::of(figures, rules)));
    }
    write(conn, ids, &computed).await?;
    Ok(computed.len())
}

/// Counts past `i32` cannot come from real facts; saturate rather than fail.
fn int(n: i64) -> i32 {
    n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

fn small(n: i64) -> i16 {
    n.clamp(0, 5) as i16
}

async fn write(
    conn: &mut PgConnection,
    ids: &[Uuid],
    computed: &[(Uuid, String, Value)],
) -> Result<(), sqlx::Error> {
    let col = |f: &dyn Fn(&Value) -> i64| -> Vec<i32> {
        computed.iter().map(|(_, _, v)| int(f(v))).collect()
    };
    let big =
        |f: &dyn Fn(&Value) -> i64| -> Vec<i64> { computed.iter().map(|(_, _, v)| f(v)).collect() };
    let score = |f: &dyn Fn(&Value) -> i64| -> Vec<i16> {
        computed.iter().map(|(_, _, v)| small(f(v))).collect()
    };
    let opt = |f: &dyn Fn(&Value) -> Option<i64>| -> Vec<Option<i32>> {
        computed.iter().map(|(_, _, v)| f(v).map(int)).collect()
    };
    let time = |f: &dyn Fn(&Value) -> Option<DateTime<Utc>>| -> Vec<Option<DateTime<Utc>>> {
        computed.iter().map(|(_, _, v)| f(v)).collect()
    };
    sqlx::query(WRITE)
        .bind(ids)
        .bind(computed.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
        .bind(
            computed
                .iter()
                .map(|(_, p, _)| p.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            computed
                .iter()
                .map(|(_, _, v)| v.tier.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(col(&|v| v.figures.purchases))
        .bind(big(&|v| v.figures.sales_minor))
        .bind(col(&|v| v.figures.service_visits))
        .bind(big(&|v| v.figures.service_minor))
        .bind(big(&|v| v.contribution_minor))
        .bind(col(&|v| v.figures.cars))
        .bind(col(&|v| v.figures.cars_serviced))
        .bind(time(&|v| v.figures.first_activity_at))
        .bind(time(&|v| v.figures.last_activity_at))
        .bind(col(&|v| v.tenure_days))
        .bind(col(&|v| v.figures.surveys))
        .bind(col(&|v| v.figures.recent_surveys))
        .bind(opt(&|v| v.recent_satisfaction_centi))
        .bind(opt(&|v| v.recent_nps))
        .bind(col(&|v| v.figures.complaints))
        .bind(col(&|v| v.figures.complaints_since_survey))
        .bind(score(&|v| v.satisfaction_score))
        .bind(score(&|v| v.loyalty_score))
        .bind(score(&|v| v.frequency_score))
        .bind(score(&|v| v.monetary_score))
        .bind(super::now())
        .execute(conn)
        .await?;
    Ok(())
}

/// A sale as recorded; `false` when it was recorded already.
pub struct Sale<'a> {
    pub vin: &'a str,
    pub sold_at: DateTime<Utc>,
    pub customer: Uuid,
    pub outlet: &'a str,
    pub amount_minor: i64,
}

pub async fn insert_sale(conn: &mut PgConnection, s: &Sale<'_>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO value_sale (vin, sold_at, customer_id, outlet, amount_minor) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(s.vin)
    .bind(s.sold_at)
    .bind(s.customer)
    .bind(s.outlet)
    .bind(s.amount_minor)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A closed repair order (a service visit).
pub struct Repair<'a> {
    pub repair_order: &'a str,
    pub vin: &'a str,
    pub customer: Uuid,
    pub station: &'a str,
    pub amount_minor: i64,
    pub closed_at: DateTime<Utc>,
}

/// Records a closed repair order; `false` when it was recorded already.
pub async fn insert_repair(conn: &mut PgConnection, r: &Repair<'_>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO value_repair (repair_order_id, vin, customer_id, station, amount_minor, \
         closed_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(r.repair_order)
    .bind(r.vin)
    .bind(r.customer)
    .bind(r.station)
    .bind(r.amount_minor)
    .bind(r.closed_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a survey answer; `false` when it was recorded already.
pub async fn insert_survey(
    conn: &mut PgConnection,
    response: &str,
    customer: Uuid,
    satisfaction: i16,
    nps: i16,
    answered_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO value_survey (survey_response_id, customer_id, satisfaction, nps, \
         answered_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(response)
    .bind(customer)
    .bind(satisfaction)
    .bind(nps)
    .bind(answered_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a complaint; `false` when it was recorded already.
pub async fn insert_complaint(
    conn: &mut PgConnection,
    case: &str,
    customer: Uuid,
    opened_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO value_complaint (case_id, customer_id, opened_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(case)
    .bind(customer)
    .bind(opened_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A stored value row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredValue {
    pub customer_id: Uuid,
    pub province: String,
    pub tier: String,
    pub purchases: i32,
    pub sales_minor: i64,
    pub service_visits: i32,
    pub service_minor: i64,
    pub contribution_minor: i64,
    pub cars: i32,
    pub cars_serviced: i32,
    pub first_activity_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub tenure_days: i32,
    pub surveys: i32,
    pub recent_surveys: i32,
    pub recent_satisfaction_centi: Option<i32>,
    pub recent_nps: Option<i32>,
    pub complaints: i32,
    pub complaints_since_survey: i32,
    pub satisfaction_score: i16,
    pub loyalty_score: i16,
    pub frequency_score: i16,
    pub monetary_score: i16,
    pub computed_at: DateTime<Utc>,
}

const VALUE_COLUMNS: &str = "v.customer_id, v.province, v.tier, v.purchases, v.sales_minor, \
    v.service_visits, v.service_minor, v.contribution_minor, v.cars, v.cars_serviced, \
    v.first_activity_at, v.last_activity_at, v.tenure_days, v.surveys, v.recent_surveys, \
    v.recent_satisfaction_centi, v.recent_nps, v.complaints, v.complaints_since_survey, \
    v.satisfaction_score, v.loyalty_score, v.frequency_score, v.monetary_score, v.computed_at";

/// The value row of `id`, if it has one.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Option<StoredValue>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {VALUE_COLUMNS} FROM customer_value v WHERE v.customer_id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Filters of ListSegmentMembers.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub tier: Option<Tier>,
    pub province: Option<String>,
    /// A dealer or station code: customers who prefer it (as dealer or as station).
    pub preferred_outlet: Option<String>,
    /// Only customers linked to this organisation (an outlet's own customers).
    pub linked_to: Option<String>,
}

/// One page of value rows in customer id order, after `after`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &MemberFilter,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<StoredValue>, sqlx::Error> {
    // An outlet's page is driven by its own links (customer_link_organization, the
    // external_id key), not by a scan of every value row looking for its customers.
    let (from, unlinked) = if filter.linked_to.is_some() {
        (
            "(SELECT customer_id FROM customer_link WHERE organization = $5 \
            AND ($3::uuid IS NULL OR customer_id > $3) \
          UNION SELECT customer_id FROM external_id WHERE issuer = $5 \
            AND ($3::uuid IS NULL OR customer_id > $3)) mine \
         JOIN customer_value v USING (customer_id)",
            "",
        )
    } else {
        // $5 is NULL here; naming it keeps its type known to the server.
        ("customer_value v", "AND $5::text IS NULL")
    };
    sqlx::query_as(&format!(
        "SELECT {VALUE_COLUMNS} FROM {from} \
         WHERE ($1::text IS NULL OR v.tier = $1) \
           AND ($2::text IS NULL OR v.province = $2) \
           AND ($3::uuid IS NULL OR v.customer_id > $3) \
           AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM customer c WHERE c.id = v.customer_id \
                AND (c.preferred_dealer = $4 OR c.preferred_station = $4))) \
           {unlinked} \
         ORDER BY v.customer_id LIMIT $6"
    ))
    .bind(filter.tier.map(Tier::as_str))
    .bind(&filter.province)
    .bind(after)
    .bind(&filter.preferred_outlet)
    .bind(&filter.linked_to)
    .bind(limit as i64)
    .fetch_all(conn)
    .await
}

/// Customers per (tier, province), from the maintained counts.
pub async fn summary(conn: &mut PgConnection) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT tier, province, customers FROM segment_count WHERE customers <> 0 \
         ORDER BY tier, province",
    )
    .fetch_all(conn)
    .await
}

/// Recomputes the next `batch` customers after `after` (every state: rows of customers
/// merged or erased since are removed), locking them first as a consumer would. Returns
/// the last id handled, how many have a value now and how many were looked at.
pub async fn rebuild_batch(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    batch: usize,
    rules: &Rules,
) -> Result<(Option<Uuid>, usize, usize), sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM customer WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2 \
         FOR NO KEY UPDATE",
    )
    .bind(after)
    .bind(batch as i64)
    .fetch_all(&mut *conn)
    .await?;
    if ids.is_empty() {
        return Ok((None, 0, 0));
    }
    let valued = recompute(conn, &ids, rules).await?;
    Ok((ids.last().copied(), valued, ids.len()))
}

/// Sets every segment count from the value rows, under a table lock that waits for (and
/// holds off) the statements moving counts, so that a drifted count is corrected.
pub async fn recount(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("LOCK TABLE segment_count IN EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM segment_count")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO segment_count (tier, province, customers) \
         SELECT tier, province, count(*) FROM customer_value GROUP BY tier, province",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

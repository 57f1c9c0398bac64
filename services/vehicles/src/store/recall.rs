//! Recall campaigns and the vehicles they affect.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{
    recall::{Campaign, Selection, Status},
    vin::Vin,
};

/// The constraint that refuses a second campaign with one code.
pub const CAMPAIGN_UNIQUE: &str = "recall_campaign_pkey";

const COLUMNS: &str = "c.code, c.title, c.description, c.remedy, c.selection, c.model_codes, c.build_from, \
                       c.build_to, c.part_number, c.part_batch, c.status, c.create_time, c.close_time, \
                       (SELECT count(*) FROM recall_vehicle rv WHERE rv.campaign_code = c.code)";

type Row = (
    String,
    String,
    String,
    String,
    String,
    Vec<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<String>,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    i64,
);

fn corrupt(what: &str, v: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected recall {what} '{v}'").into())
}

fn from_row(r: Row) -> Result<Campaign, sqlx::Error> {
    let selection = match (r.4.as_str(), r.6, r.7, r.8, r.9) {
        ("VIN_LIST", ..) => Selection::Vins(Vec::new()),
        ("MODEL_BUILD_WINDOW", Some(from), Some(to), ..) => Selection::BuildWindow {
            models: r.5,
            from,
            to,
        },
        ("PART_BATCH", _, _, Some(part_number), Some(batch)) => {
            Selection::PartBatch { part_number, batch }
        }
        _ => return Err(corrupt("selection", &r.4)),
    };
    Ok(Campaign {
        code: r.0,
        title: r.1,
        description: r.2,
        remedy: r.3,
        selection,
        status: Status::parse(&r.10).ok_or_else(|| corrupt("status", &r.10))?,
        create_time: r.11,
        close_time: r.12,
        affected_count: r.13,
    })
}

/// Stores a campaign and selects the vehicles it affects now; returns how many.
pub async fn insert(
    conn: &mut PgConnection,
    c: &Campaign,
    created_by: &str,
) -> Result<u64, sqlx::Error> {
    let (models, from, to, part, batch) = match &c.selection {
        Selection::Vins(_) => (Vec::new(), None, None, None, None),
        Selection::BuildWindow { models, from, to } => {
            (models.clone(), Some(*from), Some(*to), None, None)
        }
        Selection::PartBatch { part_number, batch } => (
            Vec::new(),
            None,
            None,
            Some(part_number.clone()),
            Some(batch.clone()),
        ),
    };
    sqlx::query(
        "INSERT INTO recall_campaign (code, title, description, remedy, selection, model_codes, build_from, \
         build_to, part_number, part_batch, status, create_time, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'OPEN', $11, $12)",
    )
    .bind(&c.code)
    .bind(&c.title)
    .bind(&c.description)
    .bind(&c.remedy)
    .bind(c.selection.kind())
    .bind(&models)
    .bind(from)
    .bind(to)
    .bind(&part)
    .bind(&batch)
    .bind(c.create_time)
    .bind(created_by)
    .execute(&mut *conn)
    .await?;
    let selected = match &c.selection {
        Selection::Vins(vins) => {
            let vins: Vec<&str> = vins.iter().map(Vin::as_str).collect();
            sqlx::query(
                "INSERT INTO recall_vehicle (campaign_code, vin) \
                 SELECT $1, v.vin FROM vehicle v WHERE v.vin = ANY($2)",
            )
            .bind(&c.code)
            .bind(vins)
            .execute(&mut *conn)
            .await?
        }
        Selection::BuildWindow { models, from, to } => {
            sqlx::query(
                "INSERT INTO recall_vehicle (campaign_code, vin) \
                 SELECT $1, v.vin FROM vehicle v \
                 WHERE v.model_code = ANY($2) AND v.built_at >= $3 AND v.built_at < $4",
            )
            .bind(&c.code)
            .bind(models)
            .bind(from)
            .bind(to)
            .execute(&mut *conn)
            .await?
        }
        Selection::PartBatch { part_number, batch } => {
            sqlx::query(
                "INSERT INTO recall_vehicle (campaign_code, vin) \
                 SELECT DISTINCT $1, o.vin FROM repair_order_line l JOIN repair_order o ON o.id = l.repair_order_id \
                 WHERE l.kind = 'PART' AND l.part_number = $2 AND l.part_batch = $3",
            )
            .bind(&c.code)
            .bind(part_number)
            .bind(batch)
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(selected.rows_affected())
}

/// Which of `vins` are registered vehicles.
pub async fn registered(conn: &mut PgConnection, vins: &[Vin]) -> Result<Vec<String>, sqlx::Error> {
    let vins: Vec<&str> = vins.iter().map(Vin::as_str).collect();
    sqlx::query_scalar("SELECT vin FROM vehicle WHERE vin = ANY($1)")
        .bind(vins)
        .fetch_all(&mut *conn)
        .await
}

pub async fn load(
    conn: &mut PgConnection,
    code: &str,
    lock: bool,
) -> Result<Option<Campaign>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE OF c" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM recall_campaign c WHERE c.code = $1{lock}"
    ))
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// Campaigns by code after `after`, optionally of one status.
pub async fn list(
    conn: &mut PgConnection,
    status: Option<Status>,
    after: &str,
    limit: usize,
) -> Result<Vec<Campaign>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM recall_campaign c WHERE c.code > $1 AND ($2::text IS NULL OR c.status = $2) \
         ORDER BY c.code LIMIT $3"
    ))
    .bind(after)
    .bind(status.map(Status::as_str))
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn close(
    conn: &mut PgConnection,
    code: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE recall_campaign SET status = 'CLOSED', close_time = $2 WHERE code = $1")
        .bind(code)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Open campaigns affecting the vehicle that it has not been remedied for.
pub async fn open_for_vehicle(
    conn: &mut PgConnection,
    vin: &Vin,
) -> Result<Vec<Campaign>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM recall_campaign c JOIN recall_vehicle v ON v.campaign_code = c.code \
         WHERE v.vin = $1 AND v.completed_at IS NULL AND c.status = 'OPEN' ORDER BY c.code"
    ))
    .bind(vin.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Codes of the open campaigns the vehicle still needs (cheaper than the campaigns).
pub async fn open_codes(conn: &mut PgConnection, vin: &Vin) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.code FROM recall_vehicle v JOIN recall_campaign c ON c.code = v.campaign_code \
         WHERE v.vin = $1 AND v.completed_at IS NULL AND c.status = 'OPEN' ORDER BY c.code",
    )
    .bind(vin.as_str())
    .fetch_all(&mut *conn)
    .await
}

/// Marks the vehicle remedied for the campaign; false when it already was.
pub async fn complete(
    conn: &mut PgConnection,
    code: &str,
    vin: &Vin,
    outlet: &str,
    order: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE recall_vehicle SET completed_at = $3, completed_by = $4, repair_order_id = $5 \
         WHERE campaign_code = $1 AND vin = $2 AND completed_at IS NULL",
    )
    .bind(code)
    .bind(vin.as_str())
    .bind(at)
    .bind(outlet)
    .bind(order)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0)
}

/// Adds a newly built vehicle to the open build-window campaigns it falls in.
pub async fn add_built(
    conn: &mut PgConnection,
    vin: &Vin,
    model: &str,
    built_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO recall_vehicle (campaign_code, vin) \
         SELECT code, $1 FROM recall_campaign \
         WHERE selection = 'MODEL_BUILD_WINDOW' AND status = 'OPEN' \
           AND $2 = ANY(model_codes) AND build_from <= $3 AND build_to > $3 \
         ON CONFLICT DO NOTHING",
    )
    .bind(vin.as_str())
    .bind(model)
    .bind(built_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds the vehicle to the open campaigns recalling a part batch just fitted to it;
/// returns their codes.
pub async fn add_fitted(
    conn: &mut PgConnection,
    vin: &Vin,
    part_number: &str,
    batch: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO recall_vehicle (campaign_code, vin) \
         SELECT code, $1 FROM recall_campaign \
         WHERE selection = 'PART_BATCH' AND status = 'OPEN' AND part_number = $2 AND part_batch = $3 \
         ON CONFLICT DO NOTHING RETURNING campaign_code",
    )
    .bind(vin.as_str())
    .bind(part_number)
    .bind(batch)
    .fetch_all(&mut *conn)
    .await
}

/// One affected vehicle with the outlet answerable for it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Affected {
    pub vin: String,
    pub model_code: String,
    pub outlet: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub repair_order: Option<Uuid>,
    pub owner: Option<Uuid>,
}

/// The outlet answerable for a vehicle: its holder, else the outlet that sold it.
const ANSWERABLE: &str = "coalesce(nullif(v.holder_outlet, ''), s.outlet, '')";

/// Affected vehicles by VIN after `after`; `outlet` narrows to one answerable outlet.
pub async fn affected(
    conn: &mut PgConnection,
    code: &str,
    completed: Option<bool>,
    outlet: Option<&str>,
    after: &str,
    limit: usize,
) -> Result<Vec<Affected>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT rv.vin, v.model_code, {ANSWERABLE} AS outlet, rv.completed_at, rv.completed_by, \
         rv.repair_order_id AS repair_order, v.owner_id AS owner \
         FROM recall_vehicle rv JOIN vehicle v ON v.vin = rv.vin LEFT JOIN sale s ON s.vin = rv.vin \
         WHERE rv.campaign_code = $1 AND rv.vin > $2 \
           AND ($3::boolean IS NULL OR (rv.completed_at IS NOT NULL) = $3) \
           AND ($4::text IS NULL OR {ANSWERABLE} = $4) \
         ORDER BY rv.vin LIMIT $5"
    ))
    .bind(code)
    .bind(after)
    .bind(completed)
    .bind(outlet)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await
}

/// Per answerable outlet (none left out): (outlet, affected cars), by outlet code.
pub async fn answerable(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ANSWERABLE} AS outlet, count(*) \
         FROM recall_vehicle rv JOIN vehicle v ON v.vin = rv.vin LEFT JOIN sale s ON s.vin = rv.vin \
         WHERE rv.campaign_code = $1 AND {ANSWERABLE} <> '' GROUP BY 1 ORDER BY 1"
    ))
    .bind(code)
    .fetch_all(&mut *conn)
    .await
}

/// Per answerable outlet: (outlet, affected, completed), and per performing outlet:
/// (outlet, remedies performed).
pub async fn progress(
    conn: &mut PgConnection,
    code: &str,
) -> Result<(Vec<(String, i64, i64)>, Vec<(String, i64)>), sqlx::Error> {
    let answerable = sqlx::query_as(&format!(
        "SELECT {ANSWERABLE} AS outlet, count(*), count(rv.completed_at) \
         FROM recall_vehicle rv JOIN vehicle v ON v.vin = rv.vin LEFT JOIN sale s ON s.vin = rv.vin \
         WHERE rv.campaign_code = $1 GROUP BY 1 ORDER BY 1"
    ))
    .bind(code)
    .fetch_all(&mut *conn)
    .await?;
    let performed = sqlx::query_as(
        "SELECT completed_by, count(*) FROM recall_vehicle \
         WHERE campaign_code = $1 AND completed_by IS NOT NULL GROUP BY 1 ORDER BY 1",
    )
    .bind(code)
    .fetch_all(&mut *conn)
    .await?;
    Ok((answerable, performed))
}

/// `add_built` for many new vehicles at once: (vin, model, built_at) each.
pub async fn add_built_many(
    conn: &mut PgConnection,
    vins: &[String],
    models: &[String],
    built: &[DateTime<Utc>],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO recall_vehicle (campaign_code, vin) \
         SELECT c.code, u.vin FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(vin, model, built) \
         JOIN recall_campaign c ON c.selection = 'MODEL_BUILD_WINDOW' AND c.status = 'OPEN' \
          AND u.model = ANY(c.model_codes) AND c.build_from <= u.built AND c.build_to > u.built \
         ON CONFLICT DO NOTHING",
    )
    .bind(vins)
    .bind(models)
    .bind(built)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

//! PostgreSQL persistence of the vehicle service. Functions take the caller's connection.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

pub mod insights;
mod pipeline;
pub mod production;
pub mod recall;
pub mod repair;
pub mod vehicle;
pub mod vehicle_list;

use crate::domain::catalogue::{Body, Model, Powertrain, Price};

/// The constraint that refuses a second model with the same code.
pub const MODEL_UNIQUE: &str = "model_pkey";

type ModelRow = (
    String,
    String,
    String,
    String,
    String,
    i32,
    i32,
    i32,
    DateTime<Utc>,
);

fn model_from_row(r: ModelRow) -> Result<Model, sqlx::Error> {
    let bad =
        |what: &str, v: &str| sqlx::Error::Decode(format!("unexpected model {what} '{v}'").into());
    Ok(Model {
        code: r.0,
        brand: r.1,
        series: r.2,
        body: Body::parse(&r.3).ok_or_else(|| bad("body", &r.3))?,
        powertrain: Powertrain::parse(&r.4).ok_or_else(|| bad("powertrain", &r.4))?,
        model_year: r.5,
        warranty_months: r.6,
        warranty_km: r.7,
        create_time: r.8,
    })
}

const MODEL_COLUMNS: &str =
    "code, brand, series, body, powertrain, model_year, warranty_months, warranty_km, create_time";

pub async fn insert_model(conn: &mut PgConnection, m: &Model) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO model ({MODEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&m.code)
    .bind(&m.brand)
    .bind(&m.series)
    .bind(m.body.as_str())
    .bind(m.powertrain.as_str())
    .bind(m.model_year)
    .bind(m.warranty_months)
    .bind(m.warranty_km)
    .bind(m.create_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One model; `lock` holds its row (serialising price changes of the model).
pub async fn load_model(
    conn: &mut PgConnection,
    code: &str,
    lock: bool,
) -> Result<Option<Model>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<ModelRow> = sqlx::query_as(&format!(
        "SELECT {MODEL_COLUMNS} FROM model WHERE code = $1{lock}"
    ))
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(model_from_row).transpose()
}

/// A page of models by code, after `after`.
pub async fn list_models(
    conn: &mut PgConnection,
    brand: Option<&str>,
    model_year: Option<i32>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Model>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {MODEL_COLUMNS} FROM model WHERE true"));
    if let Some(brand) = brand {
        q.push(" AND brand = ").push_bind(brand.to_owned());
    }
    if let Some(year) = model_year {
        q.push(" AND model_year = ").push_bind(year);
    }
    if let Some(after) = after {
        q.push(" AND code > ").push_bind(after.to_owned());
    }
    q.push(" ORDER BY code LIMIT ").push_bind(limit as i64);
    let rows: Vec<ModelRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter().map(model_from_row).collect()
}

type PriceRow = (String, NaiveDate, Option<NaiveDate>, String, i64);

fn price_from_row(r: PriceRow) -> Price {
    Price {
        model_code: r.0,
        valid_from: r.1,
        valid_to: r.2,
        currency_code: r.3,
        minor_units: r.4,
    }
}

pub async fn insert_price(
    conn: &mut PgConnection,
    p: &Price,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO model_price (model_code, valid_from, valid_to, currency_code, minor_units, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&p.model_code)
    .bind(p.valid_from)
    .bind(p.valid_to)
    .bind(&p.currency_code)
    .bind(p.minor_units)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A page of a model's prices by start date, after `after`; `valid_on` keeps the one
/// price valid on that day.
pub async fn list_prices(
    conn: &mut PgConnection,
    model: &str,
    valid_on: Option<NaiveDate>,
    after: Option<NaiveDate>,
    limit: usize,
) -> Result<Vec<Price>, sqlx::Error> {
    let rows: Vec<PriceRow> = sqlx::query_as(
        "SELECT model_code, valid_from, valid_to, currency_code, minor_units FROM model_price \
         WHERE model_code = $1 \
           AND ($2::date IS NULL OR (valid_from <= $2 AND (valid_to IS NULL OR valid_to >= $2))) \
           AND ($3::date IS NULL OR valid_from > $3) \
         ORDER BY valid_from LIMIT $4",
    )
    .bind(model)
    .bind(valid_on)
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(price_from_row).collect())
}

/// Which of `codes` are in the catalogue.
pub async fn known_models(
    conn: &mut PgConnection,
    codes: &[String],
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    let known: Vec<String> = sqlx::query_scalar("SELECT code FROM model WHERE code = ANY($1)")
        .bind(codes)
        .fetch_all(&mut *conn)
        .await?;
    Ok(known.into_iter().collect())
}

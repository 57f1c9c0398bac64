//! The production feed's set-based writes.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::vehicle::{COLUMNS, Row};
use crate::domain::vehicle::Vehicle;

/// Inserts newly produced vehicles, each with its first timeline entry (the action
/// REGISTER_PRODUCTION by `actor`, details plant, line and model, as the unary call
/// writes), skipping VINs already registered, and counts them in the pipeline; returns the
/// VINs it inserted.
pub async fn insert_produced(
    conn: &mut PgConnection,
    vehicles: &[Vehicle],
    action: &str,
    (actor_org, actor_subject): (&str, &str),
) -> Result<Vec<String>, sqlx::Error> {
    let col = |f: fn(&Vehicle) -> String| vehicles.iter().map(f).collect::<Vec<String>>();
    let built: Vec<DateTime<Utc>> = vehicles.iter().map(|v| v.built_at).collect();
    let now: Vec<DateTime<Utc>> = vehicles.iter().map(|v| v.create_time).collect();
    sqlx::query_scalar(&format!(
        "WITH u AS ( \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                                  $6::timestamptz[], $7::text[], $8::text[], $9::timestamptz[]) \
                    AS u(vin, model, state, plant, line, built, engine, colour, at)), \
         inserted AS ( \
             INSERT INTO vehicle (vin, model_code, state, plant, line, built_at, engine_number, colour, \
                                  create_time, update_time) \
             SELECT vin, model, state, plant, line, built, engine, colour, at, at FROM u \
             ON CONFLICT (vin) DO NOTHING RETURNING vin, state, model_code, holder_outlet), \
         counted AS ({count}), \
         events AS ( \
             INSERT INTO vehicle_event (vin, sequence, at, action, state_after, actor_org, actor_subject, details) \
             SELECT u.vin, 1, u.at, $10, u.state, $11, $12, ARRAY['plant', u.plant, 'line', u.line, 'model', u.model] \
             FROM u JOIN inserted USING (vin)) \
         SELECT vin FROM inserted",
        count = super::pipeline::COUNT_INSERTED,
    ))
    .bind(col(|v| v.vin.to_string()))
    .bind(col(|v| v.model_code.clone()))
    .bind(col(|v| v.state.as_str().to_owned()))
    .bind(col(|v| v.plant.clone()))
    .bind(col(|v| v.line.clone()))
    .bind(&built)
    .bind(col(|v| v.engine_number.clone()))
    .bind(col(|v| v.colour.clone()))
    .bind(&now)
    .bind(action)
    .bind(actor_org)
    .bind(actor_subject)
    .fetch_all(&mut *conn)
    .await
}

/// The production data of registered vehicles among `vins`.
pub async fn productions(
    conn: &mut PgConnection,
    vins: &[String],
) -> Result<Vec<Vehicle>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM vehicle WHERE vin = ANY($1)"
    ))
    .bind(vins)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(Row::into_vehicle).collect()
}

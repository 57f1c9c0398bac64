//! Vehicle rows and their timeline.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{
    lifecycle::State,
    vehicle::{Event, Vehicle},
    vin::Vin,
};

/// The constraint that refuses a second vehicle with one VIN.
pub const VIN_UNIQUE: &str = "vehicle_pkey";

const COLUMNS: &str = "vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, \
                       owner_id, odometer_km, version, create_time, update_time";

#[derive(sqlx::FromRow)]
struct Row {
    vin: String,
    model_code: String,
    state: String,
    plant: String,
    line: String,
    built_at: DateTime<Utc>,
    engine_number: String,
    colour: String,
    holder_outlet: String,
    owner_id: Option<Uuid>,
    odometer_km: i64,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

fn corrupt(what: &str, v: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected vehicle {what} '{v}'").into())
}

impl Row {
    fn into_vehicle(self) -> Result<Vehicle, sqlx::Error> {
        Ok(Vehicle {
            vin: Vin::parse(&self.vin).map_err(|_| corrupt("vin", &self.vin))?,
            model_code: self.model_code,
            state: State::parse(&self.state).ok_or_else(|| corrupt("state", &self.state))?,
            plant: self.plant,
            line: self.line,
            built_at: self.built_at,
            engine_number: self.engine_number,
            colour: self.colour,
            holder_outlet: self.holder_outlet,
            owner: self.owner_id,
            odometer_km: self.odometer_km,
            version: self.version,
            create_time: self.create_time,
            update_time: self.update_time,
        })
    }
}

pub async fn insert(conn: &mut PgConnection, v: &Vehicle) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO vehicle ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(v.vin.as_str())
    .bind(&v.model_code)
    .bind(v.state.as_str())
    .bind(&v.plant)
    .bind(&v.line)
    .bind(v.built_at)
    .bind(&v.engine_number)
    .bind(&v.colour)
    .bind(&v.holder_outlet)
    .bind(v.owner)
    .bind(v.odometer_km)
    .bind(v.version)
    .bind(v.create_time)
    .bind(v.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One vehicle; `lock` holds its row so that racing actions on one car serialise.
pub async fn load(
    conn: &mut PgConnection,
    vin: &Vin,
    lock: bool,
) -> Result<Option<Vehicle>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM vehicle WHERE vin = $1{lock}"
    ))
    .bind(vin.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Row::into_vehicle).transpose()
}

/// Appends an entry to the vehicle's timeline (the caller holds the vehicle's row lock,
/// so sequences never collide).
pub async fn append_event(
    conn: &mut PgConnection,
    vin: &Vin,
    e: &Event,
) -> Result<(), sqlx::Error> {
    let details: Vec<&str> = e
        .details
        .iter()
        .flat_map(|(k, v)| [k.as_str(), v.as_str()])
        .collect();
    sqlx::query(
        "INSERT INTO vehicle_event (vin, sequence, at, action, state_after, actor_org, actor_subject, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(vin.as_str())
    .bind(e.sequence)
    .bind(e.at)
    .bind(&e.action)
    .bind(e.state_after.as_str())
    .bind(&e.actor_org)
    .bind(&e.actor_subject)
    .bind(details)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

type EventRow = (
    i64,
    DateTime<Utc>,
    String,
    String,
    String,
    String,
    Vec<String>,
);

/// A page of the timeline, oldest first, after sequence `after`.
pub async fn events(
    conn: &mut PgConnection,
    vin: &Vin,
    after: i64,
    limit: usize,
) -> Result<Vec<Event>, sqlx::Error> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT sequence, at, action, state_after, actor_org, actor_subject, details FROM vehicle_event \
         WHERE vin = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
    )
    .bind(vin.as_str())
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Event {
                sequence: r.0,
                at: r.1,
                action: r.2,
                state_after: State::parse(&r.3).ok_or_else(|| corrupt("event state", &r.3))?,
                actor_org: r.4,
                actor_subject: r.5,
                details: r
                    .6
                    .chunks(2)
                    .map(|kv| (kv[0].clone(), kv.get(1).cloned().unwrap_or_default()))
                    .collect(),
            })
        })
        .collect()
}

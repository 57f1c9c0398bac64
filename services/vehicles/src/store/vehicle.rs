//! Vehicle rows and their timeline.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{
    lifecycle::State,
    vehicle::{Event, Sale, Vehicle},
    vin::Vin,
};

/// The constraint that refuses a second vehicle with one VIN.
pub const VIN_UNIQUE: &str = "vehicle_pkey";

pub(super) const COLUMNS: &str = "vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, \
                       owner_id, odometer_km, version, create_time, update_time, reserved_for, reserved_until, \
                       odometer_rollback_suspected";

#[derive(sqlx::FromRow)]
pub(super) struct Row {
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
    reserved_for: Option<Uuid>,
    reserved_until: Option<DateTime<Utc>>,
    odometer_rollback_suspected: bool,
}

pub(super) fn corrupt(what: &str, v: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected vehicle {what} '{v}'").into())
}

impl Row {
    pub(super) fn into_vehicle(self) -> Result<Vehicle, sqlx::Error> {
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
            reserved_for: self.reserved_for,
            reserved_until: self.reserved_until,
            odometer_km: self.odometer_km,
            odometer_rollback_suspected: self.odometer_rollback_suspected,
            version: self.version,
            create_time: self.create_time,
            update_time: self.update_time,
        })
    }
}

pub async fn insert(conn: &mut PgConnection, v: &Vehicle) -> Result<(), sqlx::Error> {
    // A new car holds no shipment, so its pipeline outlet is its holder.
    sqlx::query(&format!(
        "WITH inserted AS ( \
             INSERT INTO vehicle ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             RETURNING state, model_code, holder_outlet) \
         {count}",
        count = super::pipeline::COUNT_INSERTED,
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
    .bind(v.reserved_for)
    .bind(v.reserved_until)
    .bind(v.odometer_rollback_suspected)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the parts of a vehicle that actions change, and moves the car between
/// pipeline counts when its state or holder changed (the same statement).
pub async fn update(conn: &mut PgConnection, v: &Vehicle) -> Result<(), sqlx::Error> {
    sqlx::query(super::pipeline::UPDATE_VEHICLE)
        .bind(v.vin.as_str())
        .bind(v.state.as_str())
        .bind(&v.holder_outlet)
        .bind(v.owner)
        .bind(v.odometer_km)
        .bind(v.reserved_for)
        .bind(v.reserved_until)
        .bind(v.version)
        .bind(v.update_time)
        .bind(v.odometer_rollback_suspected)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The next position in the vehicle's timeline (the caller holds the vehicle's lock).
pub async fn next_sequence(conn: &mut PgConnection, vin: &Vin) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT coalesce(max(sequence), 0) + 1 FROM vehicle_event WHERE vin = $1")
        .bind(vin.as_str())
        .fetch_one(&mut *conn)
        .await
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

/// What GetVehicle shows beside the vehicle row.
#[derive(Debug, Clone)]
pub struct Context {
    /// The model's warranty (months, km).
    pub warranty: (i32, i32),
    /// The selling outlet and time, once sold.
    pub sale: Option<(String, DateTime<Utc>)>,
    /// Codes of the open recalls the vehicle still needs.
    pub open_recalls: Vec<String>,
}

/// One vehicle with its warranty terms, sale and open recalls, in one round trip.
pub async fn load_with_context(
    conn: &mut PgConnection,
    vin: &Vin,
) -> Result<Option<(Vehicle, Context)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Joined {
        #[sqlx(flatten)]
        vehicle: Row,
        warranty_months: i32,
        warranty_km: i32,
        sale_outlet: Option<String>,
        sold_at: Option<DateTime<Utc>>,
        open_recalls: Vec<String>,
    }
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("v.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let row: Option<Joined> = sqlx::query_as(&format!(
        "SELECT {columns}, m.warranty_months, m.warranty_km, s.outlet AS sale_outlet, s.sold_at, \
         ARRAY(SELECT c.code FROM recall_vehicle rv JOIN recall_campaign c ON c.code = rv.campaign_code \
               WHERE rv.vin = v.vin AND rv.completed_at IS NULL AND c.status = 'OPEN' ORDER BY c.code) AS open_recalls \
         FROM vehicle v JOIN model m ON m.code = v.model_code LEFT JOIN sale s ON s.vin = v.vin \
         WHERE v.vin = $1"
    ))
    .bind(vin.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|j| {
        Ok((
            j.vehicle.into_vehicle()?,
            Context {
                warranty: (j.warranty_months, j.warranty_km),
                sale: j.sale_outlet.zip(j.sold_at),
                open_recalls: j.open_recalls,
            },
        ))
    })
    .transpose()
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

/// A shipment as stored.
#[derive(Debug, Clone)]
pub struct ShipmentRow {
    pub id: Uuid,
    pub carrier: String,
    pub origin: String,
    pub destination_outlet: String,
    pub eta: DateTime<Utc>,
}

pub async fn insert_shipment(
    conn: &mut PgConnection,
    s: &ShipmentRow,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO shipment (id, carrier, origin, destination_outlet, eta, created_by, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.id)
    .bind(&s.carrier)
    .bind(&s.origin)
    .bind(&s.destination_outlet)
    .bind(s.eta)
    .bind(created_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Puts a vehicle on a shipment (and its pipeline count on the way to the destination).
pub async fn add_to_shipment(
    conn: &mut PgConnection,
    shipment: Uuid,
    vin: &Vin,
) -> Result<(), sqlx::Error> {
    sqlx::query(super::pipeline::ADD_TO_SHIPMENT)
        .bind(shipment)
        .bind(vin.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The shipment a vehicle is travelling on, if any: (shipment id, destination outlet).
pub async fn open_shipment(
    conn: &mut PgConnection,
    vin: &Vin,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.destination_outlet FROM shipment_vehicle sv JOIN shipment s ON s.id = sv.shipment_id \
         WHERE sv.vin = $1 AND sv.received_at IS NULL",
    )
    .bind(vin.as_str())
    .fetch_optional(&mut *conn)
    .await
}

/// Closes the vehicle's open shipment (see `pipeline_mark_received.sql`).
pub async fn mark_received(
    conn: &mut PgConnection,
    shipment: Uuid,
    vin: &Vin,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(super::pipeline::MARK_RECEIVED)
        .bind(shipment)
        .bind(vin.as_str())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn insert_sale(conn: &mut PgConnection, sale: &Sale) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sale (vin, outlet, customer_id, currency_code, price_minor, list_minor, sales_person, sale_type, sold_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(sale.vin.as_str())
    .bind(&sale.outlet)
    .bind(sale.customer)
    .bind(&sale.currency_code)
    .bind(sale.price_minor)
    .bind(sale.list_minor)
    .bind(&sale.sales_person)
    .bind(sale.sale_type)
    .bind(sale.sold_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether `outlet` holds the vehicle or sold it.
pub async fn is_holder_or_seller(
    conn: &mut PgConnection,
    vin: &Vin,
    outlet: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM vehicle WHERE vin = $1 AND holder_outlet = $2) \
             OR EXISTS (SELECT 1 FROM sale WHERE vin = $1 AND outlet = $2)",
    )
    .bind(vin.as_str())
    .bind(outlet)
    .fetch_one(&mut *conn)
    .await
}

/// The selling outlet and sale time of a sold vehicle.
pub async fn sale_of(
    conn: &mut PgConnection,
    vin: &Vin,
) -> Result<Option<(String, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as("SELECT outlet, sold_at FROM sale WHERE vin = $1")
        .bind(vin.as_str())
        .fetch_optional(&mut *conn)
        .await
}

pub async fn set_delivered(
    conn: &mut PgConnection,
    vin: &Vin,
    at: DateTime<Utc>,
    odometer_km: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sale SET delivered_at = $2, delivery_odometer_km = $3 WHERE vin = $1")
        .bind(vin.as_str())
        .bind(at)
        .bind(odometer_km)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends an owner to the vehicle's ownership history.
pub async fn add_owner(
    conn: &mut PgConnection,
    vin: &Vin,
    customer: Uuid,
    since: chrono::NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ownership (vin, sequence, customer_id, since) \
         SELECT $1, coalesce(max(sequence), 0) + 1, $2, $3 FROM ownership WHERE vin = $1",
    )
    .bind(vin.as_str())
    .bind(customer)
    .bind(since)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores a reading and says whether it reveals a suspected rollback: it is below an
/// earlier reading, or (arriving late) above a later one, which is then flagged too.
pub async fn add_odometer_reading(
    conn: &mut PgConnection,
    vin: &Vin,
    at: DateTime<Utc>,
    km: i64,
    source: &str,
    recorded_by: &str,
) -> Result<bool, sqlx::Error> {
    let earlier_max: Option<i64> =
        sqlx::query_scalar("SELECT max(km) FROM odometer_reading WHERE vin = $1 AND at <= $2")
            .bind(vin.as_str())
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
    let below_earlier = earlier_max.is_some_and(|max| km < max);
    let later_below = sqlx::query(
        "UPDATE odometer_reading SET suspected_rollback = true WHERE vin = $1 AND at > $2 AND km < $3",
    )
    .bind(vin.as_str())
    .bind(at)
    .bind(km)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    sqlx::query(
        "INSERT INTO odometer_reading (vin, at, km, source, suspected_rollback, recorded_by) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(vin.as_str())
    .bind(at)
    .bind(km)
    .bind(source)
    .bind(below_earlier)
    .bind(recorded_by)
    .execute(&mut *conn)
    .await?;
    Ok(below_earlier || later_below)
}

/// The reading taken last.
pub async fn latest_odometer(
    conn: &mut PgConnection,
    vin: &Vin,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT km FROM odometer_reading WHERE vin = $1 ORDER BY at DESC LIMIT 1")
        .bind(vin.as_str())
        .fetch_optional(&mut *conn)
        .await
}

/// Whether the timeline already holds `action` with exactly these details.
pub async fn has_event(
    conn: &mut PgConnection,
    vin: &Vin,
    action: &str,
    details: &[(String, String)],
) -> Result<bool, sqlx::Error> {
    let flat: Vec<&str> = details
        .iter()
        .flat_map(|(k, v)| [k.as_str(), v.as_str()])
        .collect();
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM vehicle_event WHERE vin = $1 AND action = $2 AND details = $3)")
        .bind(vin.as_str())
        .bind(action)
        .bind(flat)
        .fetch_one(&mut *conn)
        .await
}

//! Repair orders and their lines.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::{
    repair::{Item, Line, PayType, RepairOrder, Status, Totals},
    vin::Vin,
};

const COLUMNS: &str = "id, vin, station, customer_id, service_advisor, complaint, diagnosis, odometer_km, status, \
                       currency_code, opened_at, completed_at, closed_at, labour_hundredths, labour_minor, parts_minor, \
                       customer_minor, warranty_minor, goodwill_minor, recall_minor, version, update_time";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    vin: String,
    station: String,
    customer_id: Option<Uuid>,
    service_advisor: String,
    complaint: String,
    diagnosis: String,
    odometer_km: i64,
    status: String,
    currency_code: String,
    opened_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    labour_hundredths: Option<i64>,
    labour_minor: Option<i64>,
    parts_minor: Option<i64>,
    customer_minor: Option<i64>,
    warranty_minor: Option<i64>,
    goodwill_minor: Option<i64>,
    recall_minor: Option<i64>,
    version: i64,
    update_time: DateTime<Utc>,
}

fn corrupt(what: &str, v: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected repair order {what} '{v}'").into())
}

impl Row {
    fn into_order(self) -> Result<RepairOrder, sqlx::Error> {
        let totals = match (
            self.labour_hundredths,
            self.labour_minor,
            self.parts_minor,
            self.customer_minor,
            self.warranty_minor,
            self.goodwill_minor,
            self.recall_minor,
        ) {
            (Some(h), Some(l), Some(p), Some(c), Some(w), Some(g), Some(r)) => Some(Totals {
                labour_hundredths: h,
                labour_minor: l,
                parts_minor: p,
                customer_minor: c,
                warranty_minor: w,
                goodwill_minor: g,
                recall_minor: r,
            }),
            _ => None,
        };
        Ok(RepairOrder {
            id: self.id,
            vin: Vin::parse(&self.vin).map_err(|_| corrupt("vin", &self.vin))?,
            station: self.station,
            customer: self.customer_id,
            service_advisor: self.service_advisor,
            complaint: self.complaint,
            diagnosis: self.diagnosis,
            odometer_km: self.odometer_km,
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?,
            currency_code: self.currency_code,
            opened_at: self.opened_at,
            completed_at: self.completed_at,
            closed_at: self.closed_at,
            totals,
            version: self.version,
            update_time: self.update_time,
        })
    }
}

pub async fn insert(conn: &mut PgConnection, o: &RepairOrder) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO repair_order (id, vin, station, customer_id, service_advisor, complaint, diagnosis, \
         odometer_km, status, currency_code, opened_at, version, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(o.id)
    .bind(o.vin.as_str())
    .bind(&o.station)
    .bind(o.customer)
    .bind(&o.service_advisor)
    .bind(&o.complaint)
    .bind(&o.diagnosis)
    .bind(o.odometer_km)
    .bind(o.status.as_str())
    .bind(&o.currency_code)
    .bind(o.opened_at)
    .bind(o.version)
    .bind(o.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One order; `lock` holds its row so that changes to one order serialise.
pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<RepairOrder>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM repair_order WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Row::into_order).transpose()
}

/// Writes what the workflow changes: status, diagnosis, times, totals, version.
pub async fn update(conn: &mut PgConnection, o: &RepairOrder) -> Result<(), sqlx::Error> {
    let t = o.totals;
    sqlx::query(
        "UPDATE repair_order SET status = $2, diagnosis = $3, completed_at = $4, closed_at = $5, \
         labour_hundredths = $6, labour_minor = $7, parts_minor = $8, customer_minor = $9, \
         warranty_minor = $10, goodwill_minor = $11, recall_minor = $12, version = $13, update_time = $14 \
         WHERE id = $1",
    )
    .bind(o.id)
    .bind(o.status.as_str())
    .bind(&o.diagnosis)
    .bind(o.completed_at)
    .bind(o.closed_at)
    .bind(t.map(|t| t.labour_hundredths))
    .bind(t.map(|t| t.labour_minor))
    .bind(t.map(|t| t.parts_minor))
    .bind(t.map(|t| t.customer_minor))
    .bind(t.map(|t| t.warranty_minor))
    .bind(t.map(|t| t.goodwill_minor))
    .bind(t.map(|t| t.recall_minor))
    .bind(o.version)
    .bind(o.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct LineRow {
    line_no: i32,
    kind: String,
    pay_type: String,
    fault_code: String,
    description: String,
    operation_code: Option<String>,
    labour_hundredths: Option<i32>,
    technician: Option<String>,
    part_number: Option<String>,
    part_batch: Option<String>,
    part_serial: Option<String>,
    quantity: Option<i32>,
    unit_minor: i64,
    amount_minor: i64,
    recall_campaign: Option<String>,
}

impl LineRow {
    fn into_line(self) -> Result<Line, sqlx::Error> {
        let item = match self.kind.as_str() {
            "LABOUR" => Item::Labour {
                operation_code: self.operation_code.unwrap_or_default(),
                hundredths: self.labour_hundredths.unwrap_or_default(),
                technician: self.technician.unwrap_or_default(),
                rate_minor: self.unit_minor,
            },
            "PART" => Item::Part {
                part_number: self.part_number.unwrap_or_default(),
                batch: self.part_batch.unwrap_or_default(),
                serial: self.part_serial.unwrap_or_default(),
                quantity: self.quantity.unwrap_or_default(),
                unit_minor: self.unit_minor,
            },
            other => return Err(corrupt("line kind", other)),
        };
        Ok(Line {
            number: self.line_no,
            item,
            pay_type: PayType::parse(&self.pay_type)
                .ok_or_else(|| corrupt("pay type", &self.pay_type))?,
            fault_code: self.fault_code,
            description: self.description,
            recall_campaign: self.recall_campaign,
            amount_minor: self.amount_minor,
        })
    }
}

pub async fn lines(conn: &mut PgConnection, order: Uuid) -> Result<Vec<Line>, sqlx::Error> {
    let rows: Vec<LineRow> = sqlx::query_as(
        "SELECT line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, \
         part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign \
         FROM repair_order_line WHERE repair_order_id = $1 ORDER BY line_no",
    )
    .bind(order)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(LineRow::into_line).collect()
}

/// Adds a line numbered after the highest so far (the caller holds the order's lock).
pub async fn add_line(
    conn: &mut PgConnection,
    order: Uuid,
    line: &Line,
    now: DateTime<Utc>,
) -> Result<i32, sqlx::Error> {
    let (kind, op, hundredths, tech, part, batch, serial, qty, unit) = match &line.item {
        Item::Labour {
            operation_code,
            hundredths,
            technician,
            rate_minor,
        } => (
            "LABOUR",
            Some(operation_code.as_str()),
            Some(*hundredths),
            Some(technician.as_str()),
            None,
            None,
            None,
            None,
            *rate_minor,
        ),
        Item::Part {
            part_number,
            batch,
            serial,
            quantity,
            unit_minor,
        } => (
            "PART",
            None,
            None,
            None,
            Some(part_number.as_str()),
            Some(batch.as_str()),
            Some(serial.as_str()),
            Some(*quantity),
            *unit_minor,
        ),
    };
    sqlx::query_scalar(
        "INSERT INTO repair_order_line (repair_order_id, line_no, kind, pay_type, fault_code, description, \
         operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, \
         unit_minor, amount_minor, recall_campaign, create_time) \
         SELECT $1, coalesce(max(line_no), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 \
         FROM repair_order_line WHERE repair_order_id = $1 RETURNING line_no",
    )
    .bind(order)
    .bind(kind)
    .bind(line.pay_type.as_str())
    .bind(&line.fault_code)
    .bind(&line.description)
    .bind(op)
    .bind(hundredths)
    .bind(tech)
    .bind(part)
    .bind(batch)
    .bind(serial)
    .bind(qty)
    .bind(unit)
    .bind(line.amount_minor)
    .bind(&line.recall_campaign)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

/// Removes a line; false when there is no such line.
pub async fn remove_line(
    conn: &mut PgConnection,
    order: Uuid,
    number: i32,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM repair_order_line WHERE repair_order_id = $1 AND line_no = $2")
            .bind(order)
            .bind(number)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Filters of ListRepairOrders (the handler narrows an outlet's view to the orders it may
/// read).
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub vin: Option<Vin>,
    pub station: Option<String>,
    pub customer: Option<Uuid>,
    pub statuses: Vec<Status>,
    pub opened_after: Option<DateTime<Utc>>,
    pub opened_before: Option<DateTime<Utc>>,
}

/// Orders newest first, after the cursor (opened_at, id) when given.
pub async fn list(
    conn: &mut PgConnection,
    f: &Filter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: usize,
) -> Result<Vec<RepairOrder>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM repair_order WHERE true"));
    if let Some(vin) = &f.vin {
        q.push(" AND vin = ").push_bind(vin.as_str().to_owned());
    }
    if let Some(station) = &f.station {
        q.push(" AND station = ").push_bind(station.clone());
    }
    if let Some(customer) = f.customer {
        q.push(" AND customer_id = ").push_bind(customer);
    }
    if !f.statuses.is_empty() {
        let names: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        q.push(" AND status = ANY(").push_bind(names).push(")");
    }
    if let Some(t) = f.opened_after {
        q.push(" AND opened_at >= ").push_bind(t);
    }
    if let Some(t) = f.opened_before {
        q.push(" AND opened_at < ").push_bind(t);
    }
    if let Some((at, id)) = after {
        q.push(" AND (opened_at, id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY opened_at DESC, id DESC LIMIT ")
        .push_bind(limit as i64);
    let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter().map(Row::into_order).collect()
}

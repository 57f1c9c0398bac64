//! The vehicle service's events as scorecard figures: sales per selling outlet and day,
//! each closed repair order's turnaround and recall remedies at its station, and each new
//! recall campaign's cars per answerable outlet.

use dealernet_kit::events::{Apply, ApplyError};
use dealernet_proto::vehicles::v1::{self as pb, vehicle_service_event::Kind};
use sqlx::PgConnection;

use super::{DayFigures, add_to_day, id_in, outlet_day, poison, required_time};
use crate::domain::scorecard::repair_turnaround;

/// Applies VehicleSold, RepairOrderClosed and RecallCampaignCreated.
#[derive(Debug, Clone, Copy, Default)]
pub struct VehicleFacts;

fn outlet<'a>(code: &'a str, field: &str) -> Result<&'a str, ApplyError> {
    if code.is_empty() {
        return Err(poison(format!("{field}: an outlet code is required")));
    }
    Ok(code)
}

async fn sold(conn: &mut PgConnection, s: &pb::VehicleSold) -> Result<(), ApplyError> {
    let vin = id_in(&s.vehicle, "vehicles/", "vehicle")?;
    let outlet = outlet(&s.outlet, "outlet")?;
    let at = required_time(s.sell_time.as_ref(), "sell_time")?;
    let day = outlet_day(conn, outlet, at).await?;
    let new = sqlx::query(
        "INSERT INTO sale_fact (vin, sell_time, outlet_code, day) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(vin)
    .bind(at)
    .bind(outlet)
    .bind(day)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if new > 0 {
        let f = DayFigures {
            vehicles_sold: 1,
            ..Default::default()
        };
        add_to_day(conn, outlet, day, f).await?;
    }
    Ok(())
}

async fn repair_closed(
    conn: &mut PgConnection,
    o: &pb::RepairOrderClosed,
) -> Result<(), ApplyError> {
    id_in(&o.repair_order, "repairOrders/", "repair_order")?;
    let vin = id_in(&o.vehicle, "vehicles/", "vehicle")?;
    let station = outlet(&o.station, "station")?;
    let opened = required_time(o.open_time.as_ref(), "open_time")?;
    let closed = required_time(o.close_time.as_ref(), "close_time")?;
    let completed = o
        .complete_time
        .as_ref()
        .map(|t| required_time(Some(t), "complete_time"))
        .transpose()?;
    let turnaround = repair_turnaround(opened, completed, closed)
        .ok_or_else(|| poison("the order ends before it opens".to_owned()))?;
    let day = outlet_day(conn, station, closed).await?;
    let new = sqlx::query(
        "INSERT INTO repair_fact (repair_order, station, day, turnaround_secs) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(&o.repair_order)
    .bind(station)
    .bind(day)
    .bind(turnaround.as_seconds_f64())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if new == 0 {
        return Ok(());
    }
    let remedies = sqlx::query(
        "INSERT INTO recall_remedy (campaign_code, vin, station, day, repair_order) \
         SELECT code, $2, $3, $4, $5 FROM unnest($1::text[]) AS code ON CONFLICT DO NOTHING",
    )
    .bind(&o.recall_campaigns)
    .bind(vin)
    .bind(station)
    .bind(day)
    .bind(&o.repair_order)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if remedies > 0 {
        let f = DayFigures {
            recall_remedies: remedies as i64,
            ..Default::default()
        };
        add_to_day(conn, station, day, f).await?;
    }
    Ok(())
}

async fn campaign_created(
    conn: &mut PgConnection,
    c: &pb::RecallCampaignCreated,
    delivery: &pb::StreamEventsResponse,
) -> Result<(), ApplyError> {
    if c.code.is_empty() {
        return Err(poison("code: a campaign code is required".to_owned()));
    }
    let created = required_time(
        delivery
            .envelope
            .as_ref()
            .and_then(|e| e.occur_time.as_ref()),
        "envelope.occur_time",
    )?;
    for a in &c.affected_outlets {
        let outlet = outlet(&a.outlet, "affected_outlets.outlet")?;
        if a.affected <= 0 {
            return Err(poison(format!(
                "affected_outlets: {outlet} has {} cars",
                a.affected
            )));
        }
        let day = outlet_day(conn, outlet, created).await?;
        sqlx::query(
            "INSERT INTO recall_answerable (campaign_code, outlet_code, affected, day) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&c.code)
        .bind(outlet)
        .bind(a.affected)
        .bind(day)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Apply for VehicleFacts {
    type Delivery = pb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["VehicleSold", "RepairOrderClosed", "RecallCampaignCreated"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &pb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(Kind::VehicleSold(s)) => sold(conn, s).await,
            Some(Kind::RepairOrderClosed(o)) => repair_closed(conn, o).await,
            Some(Kind::RecallCampaignCreated(c)) => campaign_created(conn, c, delivery).await,
            // Other types are not asked for.
            Some(_) => Ok(()),
            None => Err(poison("the event has no payload".to_owned())),
        }
    }
}

//! What the vehicle service publishes: each event built from the change it describes and
//! written with it, in its transaction (`dealernet_kit::events`).

use chrono::{DateTime, Utc};
use dealernet_kit::{
    auth::Principal,
    events::{self, NewEvent},
};
use dealernet_proto::{types::v1 as types, vehicles::v1 as pb};
use pb::vehicle_service_event::Kind;
use sqlx::PgConnection;

use crate::domain::{
    recall::Campaign,
    repair::{Item, Line, RepairOrder, Totals},
    vehicle::{Sale, Vehicle},
};

/// The event types StreamEvents offers (the payload messages' names).
pub const EVENT_TYPES: &[&str] = &[
    "VehicleChanged",
    "VehicleSold",
    "RepairOrderClosed",
    "RecallCampaignCreated",
    "OdometerRollbackSuspected",
];

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn actor(principal: &Principal) -> String {
    format!("{}/{}", principal.organization(), principal.subject())
}

fn customer_name(id: Option<uuid::Uuid>) -> String {
    id.map(|c| format!("customers/{c}")).unwrap_or_default()
}

fn event(
    principal: &Principal,
    (aggregate_type, aggregate_id): (&'static str, String),
    event_type: &'static str,
    kind: Kind,
    outlets: &[&str],
    at: DateTime<Utc>,
) -> NewEvent {
    let message = pb::VehicleServiceEvent { kind: Some(kind) };
    NewEvent::new(
        aggregate_type,
        aggregate_id,
        event_type,
        &message,
        actor(principal),
        at,
    )
    .about_outlets(outlets.iter().copied())
}

async fn publish(
    conn: &mut PgConnection,
    principal: &Principal,
    aggregate: (&'static str, String),
    event_type: &'static str,
    kind: Kind,
    outlets: &[&str],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let event = event(principal, aggregate, event_type, kind, outlets, at);
    events::append(conn, &event).await?;
    Ok(())
}

/// A timeline entry of `v` (already in its new state).
pub async fn vehicle_changed(
    conn: &mut PgConnection,
    principal: &Principal,
    v: &Vehicle,
    action: &str,
    details: &[(String, String)],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    events::append(conn, &changed(principal, v, action, details, at)).await?;
    Ok(())
}

/// A timeline entry: the vehicle after it, the action, its details.
pub type TimelineEntry<'a> = (&'a Vehicle, &'a str, Vec<(String, String)>);

/// The timeline entries of a batch (the production feed's), in one statement.
pub async fn vehicles_changed(
    conn: &mut PgConnection,
    principal: &Principal,
    entries: &[TimelineEntry<'_>],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let batch: Vec<NewEvent> = entries
        .iter()
        .map(|(v, action, details)| changed(principal, v, action, details, at))
        .collect();
    events::append_many(conn, &batch).await
}

fn changed(
    principal: &Principal,
    v: &Vehicle,
    action: &str,
    details: &[(String, String)],
    at: DateTime<Utc>,
) -> NewEvent {
    let kind = Kind::VehicleChanged(pb::VehicleChanged {
        vehicle: format!("vehicles/{}", v.vin),
        action: action.to_owned(),
        state: crate::api::state_to_proto(v.state) as i32,
        holder_outlet: v.holder_outlet.clone(),
        owner: customer_name(v.owner),
        model_code: v.model_code.clone(),
        details: details.iter().cloned().collect(),
    });
    let about = ("vehicle", format!("vehicles/{}", v.vin));
    event(
        principal,
        about,
        "VehicleChanged",
        kind,
        &[&v.holder_outlet],
        at,
    )
}

/// A sale, with its list price when the model had one in the sale's currency.
pub async fn vehicle_sold(
    conn: &mut PgConnection,
    principal: &Principal,
    v: &Vehicle,
    sale: &Sale,
    sale_type: pb::SaleType,
) -> Result<(), sqlx::Error> {
    let money = |minor| types::Money {
        currency_code: sale.currency_code.clone(),
        minor_units: minor,
    };
    let kind = Kind::VehicleSold(pb::VehicleSold {
        vehicle: format!("vehicles/{}", sale.vin),
        model_code: v.model_code.clone(),
        customer: format!("customers/{}", sale.customer),
        outlet: sale.outlet.clone(),
        price: Some(money(sale.price_minor)),
        list_price: sale.list_minor.map(money),
        sale_type: sale_type as i32,
        sell_time: Some(timestamp(sale.sold_at)),
    });
    let about = ("vehicle", format!("vehicles/{}", sale.vin));
    publish(
        conn,
        principal,
        about,
        "VehicleSold",
        kind,
        &[&sale.outlet],
        sale.sold_at,
    )
    .await
}

/// A closed repair order: its totals, parts and recall work.
pub async fn repair_order_closed(
    conn: &mut PgConnection,
    principal: &Principal,
    order: &RepairOrder,
    model_code: &str,
    lines: &[Line],
    totals: &Totals,
) -> Result<(), sqlx::Error> {
    let money = |minor| types::Money {
        currency_code: order.currency_code.clone(),
        minor_units: minor,
    };
    let parts = lines
        .iter()
        .filter_map(|l| match &l.item {
            Item::Part {
                part_number,
                quantity,
                ..
            } => Some(pb::RepairOrderClosedPart {
                part_number: part_number.clone(),
                quantity: i64::from(*quantity),
            }),
            Item::Labour { .. } => None,
        })
        .collect();
    let mut recalls: Vec<String> = lines
        .iter()
        .filter_map(|l| l.recall_campaign.clone())
        .collect();
    recalls.sort();
    recalls.dedup();
    let closed_at = order.closed_at.unwrap_or(order.update_time);
    let kind = Kind::RepairOrderClosed(pb::RepairOrderClosed {
        repair_order: format!("repairOrders/{}", order.id),
        vehicle: format!("vehicles/{}", order.vin),
        model_code: model_code.to_owned(),
        station: order.station.clone(),
        customer: customer_name(order.customer),
        total: Some(money(totals.total_minor())),
        customer_total: Some(money(totals.customer_minor)),
        open_time: Some(timestamp(order.opened_at)),
        complete_time: order.completed_at.map(timestamp),
        close_time: Some(timestamp(closed_at)),
        parts,
        recall_campaigns: recalls,
        odometer_km: order.odometer_km,
    });
    let about = ("repairOrder", format!("repairOrders/{}", order.id));
    publish(
        conn,
        principal,
        about,
        "RepairOrderClosed",
        kind,
        &[&order.station],
        closed_at,
    )
    .await
}

/// A new recall campaign (HQ's; no outlet's own object) with the (outlet, cars) it is
/// answerable for at creation.
pub async fn recall_campaign_created(
    conn: &mut PgConnection,
    principal: &Principal,
    campaign: &Campaign,
    answerable: &[(String, i64)],
) -> Result<(), sqlx::Error> {
    let kind = Kind::RecallCampaignCreated(pb::RecallCampaignCreated {
        recall_campaign: format!("recallCampaigns/{}", campaign.code),
        code: campaign.code.clone(),
        title: campaign.title.clone(),
        affected_count: campaign.affected_count,
        affected_outlets: answerable
            .iter()
            .map(|(outlet, affected)| pb::RecallOutletAffected {
                outlet: outlet.clone(),
                affected: *affected,
            })
            .collect(),
    });
    let about = (
        "recallCampaign",
        format!("recallCampaigns/{}", campaign.code),
    );
    publish(
        conn,
        principal,
        about,
        "RecallCampaignCreated",
        kind,
        &[],
        campaign.create_time,
    )
    .await
}

/// A reading below an earlier one.
pub async fn odometer_rollback_suspected(
    conn: &mut PgConnection,
    principal: &Principal,
    v: &Vehicle,
    reading_km: i64,
    previous_km: i64,
    read_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let kind = Kind::OdometerRollbackSuspected(pb::OdometerRollbackSuspected {
        vehicle: format!("vehicles/{}", v.vin),
        reading_km,
        previous_km,
        recorded_by: principal.organization().to_owned(),
        read_time: Some(timestamp(read_at)),
    });
    let about = ("vehicle", format!("vehicles/{}", v.vin));
    publish(
        conn,
        principal,
        about,
        "OdometerRollbackSuspected",
        kind,
        &[&v.holder_outlet],
        read_at,
    )
    .await
}

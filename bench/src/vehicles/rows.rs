//! COPY rows of a vehicle's whole record, as the service's own actions would have left it:
//! the vehicle row, its timeline (`vehicle_event`, with the same actions and details the
//! handlers write), shipment, sale, owners, odometer readings and closed repair orders.

use chrono::{DateTime, TimeDelta, Utc};
use dealernet_vehicles::domain::lifecycle::State;
use uuid::Uuid;

use super::{
    CURRENCY, data_end, dealer,
    life::{CARRIERS, Life, PLANTS},
};
use crate::{copy_text::CopyText, customer_id};

/// The tables a batch fills, in load order (referenced tables first), with their columns.
pub const TABLES: [&str; 9] = [
    "vehicle (vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, \
     owner_id, odometer_km, version, create_time, update_time, reserved_for, reserved_until, \
     odometer_rollback_suspected)",
    "vehicle_event (vin, sequence, at, action, state_after, actor_org, actor_subject, details)",
    "shipment (id, carrier, origin, destination_outlet, eta, created_by, create_time)",
    "shipment_vehicle (shipment_id, vin, received_at)",
    "sale (vin, outlet, customer_id, currency_code, price_minor, list_minor, sales_person, \
     sale_type, sold_at, delivered_at, delivery_odometer_km)",
    "ownership (vin, sequence, customer_id, since)",
    "odometer_reading (vin, at, km, source, suspected_rollback, recorded_by)",
    "repair_order (id, vin, station, customer_id, service_advisor, complaint, diagnosis, \
     odometer_km, status, currency_code, opened_at, completed_at, closed_at, labour_hundredths, \
     labour_minor, parts_minor, customer_minor, warranty_minor, goodwill_minor, recall_minor, \
     version, update_time)",
    "repair_order_line (repair_order_id, line_no, kind, pay_type, fault_code, description, \
     operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, \
     quantity, unit_minor, amount_minor, recall_campaign, create_time)",
];

/// COPY text of many vehicles, one buffer per table of [`TABLES`].
#[derive(Debug, Default)]
pub struct Batch {
    pub tables: [CopyText; 9],
    pub vehicles: u64,
}

const ORDER: usize = 7;
const LINE: usize = 8;

impl Batch {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(CopyText::rows).sum()
    }

    /// Rows of repair_order and repair_order_line.
    pub fn repair_rows(&self) -> (u64, u64) {
        (self.tables[ORDER].rows(), self.tables[LINE].rows())
    }
}

/// What shapes the generated history beyond the vehicle number.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Owners are customers `1..=customers` of the bench customer key space.
    pub customers: u64,
    /// Expected repair orders per year of use (after the first service).
    pub orders_per_year: f64,
}

/// `00000000-0000-7000-<variant>-<number in 12 digits>`: UUIDv7-shaped, computable in SQL.
pub(super) fn numbered_uuid(variant: &str, number: u64) -> Uuid {
    Uuid::parse_str(&format!("00000000-0000-7000-{variant}-{number:012}"))
        .expect("twelve decimal digits are valid hex")
}

/// The shipment that took vehicle `n` from the plant.
pub fn shipment_id(n: u64) -> Uuid {
    numbered_uuid("a000", n)
}

/// Appends a timeline entry; returns its sequence.
struct Timeline<'a> {
    out: &'a mut CopyText,
    vin: &'a str,
    sequence: i64,
    last: DateTime<Utc>,
}

impl Timeline<'_> {
    fn push(
        &mut self,
        at: DateTime<Utc>,
        action: &str,
        state: State,
        actor: (&str, &str),
        details: &[(&str, &str)],
    ) {
        self.sequence += 1;
        self.last = at;
        self.out
            .text(self.vin)
            .int(self.sequence)
            .time(at)
            .text(action)
            .text(state.as_str())
            .text(actor.0)
            .text(actor.1)
            .text_array(details.iter().flat_map(|(k, v)| [*k, *v]));
        self.out.end();
    }
}

/// Appends every row of vehicle `n` to `batch`.
pub fn vehicle(batch: &mut Batch, n: u64, shape: &Shape) {
    let life = Life::new(n);
    let vin = super::vin(n);
    let vin = vin.as_str();
    let end = data_end();
    let state = life.state();
    let (plant, plant_org) = PLANTS[life.plant];
    let (carrier, carrier_org) = CARRIERS[life.carrier];
    let outlet = dealer(life.dealer);
    let [
        vehicles,
        events,
        shipments,
        shipment_vehicles,
        sales,
        owners,
        odometer,
        orders,
        lines,
    ] = &mut batch.tables;
    let mut t = Timeline {
        out: events,
        vin,
        sequence: 0,
        last: life.registered_at,
    };
    t.push(
        life.registered_at,
        "REGISTER_PRODUCTION",
        State::Produced,
        (plant_org, "mes.line-feed"),
        &[
            ("plant", plant),
            ("line", &life.line),
            ("model", life.model.code),
        ],
    );
    let mut owner: Option<u64> = None;
    let mut holder = String::new();
    let mut odometer_km = 0;
    let mut readings = 0;
    if state != State::Produced {
        let shipment = shipment_id(n);
        let shipment_name = format!("shipments/{shipment}");
        t.push(
            life.dispatched_at,
            "DISPATCH_SHIPMENT",
            State::InTransit,
            (plant_org, "logistics.dispatch"),
            &[
                ("shipment", &shipment_name),
                ("carrier", carrier),
                ("destination_outlet", &outlet),
            ],
        );
        shipments
            .uuid(shipment)
            .text(carrier)
            .text(plant)
            .text(&outlet)
            .time(life.received_at - TimeDelta::hours(6))
            .text(plant_org)
            .time(life.dispatched_at)
            .end();
        if life.transit_at < end {
            let time = life.transit_at.to_rfc3339();
            t.push(
                life.transit_at,
                "RECORD_TRANSIT_EVENT",
                State::InTransit,
                (carrier_org, "feed.transit"),
                &[
                    ("position", "武汉分拨中心"),
                    ("status", "AT_HUB"),
                    ("time", &time),
                ],
            );
        }
        let received = (state != State::InTransit).then_some(life.received_at);
        shipment_vehicles
            .uuid(shipment)
            .text(vin)
            .opt_time(received)
            .end();
    }
    if reached(state, State::InStock) {
        let at = life.received_at;
        t.push(
            at,
            "RECEIVE_AT_DEALER",
            State::InStock,
            (&outlet, "stock.clerk"),
            &[("outlet", &outlet)],
        );
        holder.clone_from(&outlet);
    }
    if reached(state, State::Sold) {
        let buyer = life.first_owner(shape.customers);
        let customer = format!("customers/{}", customer_id(buyer));
        let price = format!("{CURRENCY} {}", life.sale.price_minor);
        let seller = (outlet.as_str(), life.sale.sales_person.as_str());
        t.push(
            life.sold_at,
            "SELL",
            State::Sold,
            seller,
            &[
                ("customer", &customer),
                ("price", &price),
                ("sales_person", &life.sale.sales_person),
                ("sale_type", life.sale.sale_type),
            ],
        );
        let delivered = state == State::Delivered;
        sales
            .text(vin)
            .text(&outlet)
            .uuid(customer_id(buyer))
            .text(CURRENCY)
            .int(life.sale.price_minor)
            .int(life.model.list_minor)
            .text(&life.sale.sales_person)
            .text(life.sale.sale_type)
            .time(life.sold_at)
            .opt_time(delivered.then_some(life.delivered_at))
            .opt_int(delivered.then_some(life.delivery_km))
            .end();
        owners
            .text(vin)
            .int(1)
            .uuid(customer_id(buyer))
            .date(life.sold_at.date_naive())
            .end();
        owner = Some(buyer);
        if delivered {
            let km = life.delivery_km.to_string();
            t.push(
                life.delivered_at,
                "DELIVER",
                State::Delivered,
                seller,
                &[("odometer_km", &km)],
            );
            odometer
                .text(vin)
                .time(life.delivered_at)
                .int(life.delivery_km)
                .text("DELIVERY")
                .bool(false)
                .text(&outlet)
                .end();
            odometer_km = life.delivery_km;
            holder.clear();
            if let Some(at) = life.resold_at {
                let second = life.second_owner(shape.customers);
                let name = format!("customers/{}", customer_id(second));
                let since = at.date_naive();
                t.push(
                    at,
                    "TRANSFER_OWNERSHIP",
                    State::Delivered,
                    (&outlet, "used.sales"),
                    &[("new_owner", &name), ("since", &since.to_string())],
                );
                owners
                    .text(vin)
                    .int(2)
                    .uuid(customer_id(second))
                    .date(since)
                    .end();
            }
        }
    }
    let mut update_time = t.last;
    let version = t.sequence;
    if state == State::Delivered {
        let history = super::repairs::write(&life, vin, shape, orders, lines, odometer);
        if let Some((at, km)) = history.last_reading {
            (odometer_km, update_time) = (km, update_time.max(at));
        }
        readings = history.orders;
    }
    let owner_id = owner.map(|o| match life.resold_at {
        Some(_) => life.second_owner(shape.customers),
        None => o,
    });
    vehicles
        .text(vin)
        .text(life.model.code)
        .text(state.as_str())
        .text(plant)
        .text(&life.line)
        .time(life.built_at)
        .text(&life.engine_number)
        .text(life.colour)
        .text(&holder)
        .opt_uuid(owner_id.map(customer_id))
        .int(odometer_km)
        .int(version + readings)
        .time(life.registered_at)
        .time(update_time)
        .null()
        .null()
        .bool(false)
        .end();
    batch.vehicles += 1;
}

/// Whether a vehicle in `state` has gone through `step` (the lifecycle without detours).
fn reached(state: State, step: State) -> bool {
    let rank = |s| match s {
        State::Produced => 0,
        State::InTransit => 1,
        State::InStock | State::Reserved => 2,
        State::Sold => 3,
        State::Delivered | State::Scrapped => 4,
    };
    rank(state) >= rank(step)
}

/// Rows of a vehicle made just now by the factory, exactly as RegisterProduction writes
/// them: the vehicle (PRODUCED, version 1) and its first timeline entry.
pub fn produced_now(
    vehicles: &mut CopyText,
    events: &mut CopyText,
    n: u64,
    now: DateTime<Utc>,
    (org, subject): (&str, &str),
) {
    let life = Life::new(n);
    let vin = super::vin(n);
    let (plant, _) = PLANTS[life.plant];
    vehicles
        .text(vin.as_str())
        .text(life.model.code)
        .text(State::Produced.as_str())
        .text(plant)
        .text(&life.line)
        .time(now - TimeDelta::minutes(30))
        .text(&life.engine_number)
        .text(life.colour)
        .text("")
        .null()
        .int(0)
        .int(1)
        .time(now)
        .time(now)
        .null()
        .null()
        .bool(false)
        .end();
    events
        .text(vin.as_str())
        .int(1)
        .time(now)
        .text("REGISTER_PRODUCTION")
        .text(State::Produced.as_str())
        .text(org)
        .text(subject)
        .text_array(["plant", plant, "line", &life.line, "model", life.model.code])
        .end();
}

#[cfg(test)]
mod tests {
    use super::*;

    const VEHICLE: usize = 0;
    const EVENT: usize = 1;
    const SHIPMENT: usize = 2;
    const SHIPMENT_VEHICLE: usize = 3;
    const SALE: usize = 4;
    const OWNERSHIP: usize = 5;

    #[test]
    fn a_batch_holds_consistent_rows() {
        let shape = Shape {
            customers: 1_000,
            orders_per_year: 1.5,
        };
        let mut batch = Batch::default();
        for n in 1..=2_000 {
            vehicle(&mut batch, n, &shape);
        }
        let rows = |i: usize| batch.tables[i].rows();
        assert_eq!(rows(VEHICLE), 2_000);
        assert!(rows(EVENT) > 5 * 2_000, "{} events", rows(EVENT));
        assert!(rows(SALE) >= rows(OWNERSHIP) / 2 && rows(SALE) > 1_800);
        assert_eq!(rows(SHIPMENT), rows(SHIPMENT_VEHICLE));
        let (orders, lines) = batch.repair_rows();
        let per_order = lines as f64 / orders as f64;
        assert!(
            (3.0..3.7).contains(&per_order),
            "{per_order} lines per order"
        );
        let text = std::str::from_utf8(batch.tables[LINE].as_bytes()).expect("utf8");
        assert!(text.contains("\tWARRANTY\t") && text.contains("\tCUSTOMER\t"));
    }

    #[test]
    fn the_same_vehicle_gives_the_same_rows() {
        let shape = Shape {
            customers: 1_000_000,
            orders_per_year: 1.2,
        };
        let (mut a, mut b) = (Batch::default(), Batch::default());
        vehicle(&mut a, 777, &shape);
        vehicle(&mut b, 777, &shape);
        for (x, y) in a.tables.iter().zip(&b.tables) {
            assert_eq!(x.as_bytes(), y.as_bytes());
        }
    }
}

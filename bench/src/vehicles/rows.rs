//! COPY rows of a vehicle's whole record, as the service's own actions would have left it:
//! the vehicle row, its timeline (`vehicle_event`, with the same actions and details the
//! handlers write), shipment, sale, owners, odometer readings and closed repair orders.

use chrono::{DateTime, TimeDelta, Utc};
use dealernet_customers::demo::Rng;
use dealernet_vehicles::domain::{lifecycle::State, warranty};
use uuid::Uuid;

use super::{
    CURRENCY, data_end, dealer,
    life::{CARRIERS, Life, PLANTS},
    station, unit,
};
use crate::{copy_text::CopyText, customer_id};

/// Mixed into the seed of a vehicle's repair history.
const REPAIR_SEED: u64 = 0x7265_7061_6972_7321;
/// Lines per repair order 1..=6 with these weights (percent): 3.32 lines on average.
const LINE_WEIGHTS: [usize; 6] = [12, 20, 25, 20, 13, 10];
pub const MEAN_LINES: f64 = 3.32;
/// Repair orders start this long after delivery and end a day before the data ends.
const FIRST_SERVICE_DAYS: i64 = 14;

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

/// Years of use in which a vehicle can have repair orders (0 if not delivered in time).
pub fn years_of_service(life: &Life) -> f64 {
    let (from, to) = service_window(life);
    ((to - from).num_seconds() as f64 / (365.25 * 86_400.0)).max(0.0)
}

fn service_window(life: &Life) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        life.delivered_at + TimeDelta::days(FIRST_SERVICE_DAYS),
        data_end() - TimeDelta::days(1),
    )
}

/// `00000000-0000-7000-<variant>-<number in 12 digits>`: UUIDv7-shaped, computable in SQL.
fn numbered_uuid(variant: &str, number: u64) -> Uuid {
    Uuid::parse_str(&format!("00000000-0000-7000-{variant}-{number:012}"))
        .expect("twelve decimal digits are valid hex")
}

/// The shipment that took vehicle `n` from the plant.
pub fn shipment_id(n: u64) -> Uuid {
    numbered_uuid("a000", n)
}

/// Repair order `k` (0-based) of vehicle `n`.
pub fn repair_order_id(n: u64, k: u64) -> Uuid {
    numbered_uuid("9000", n * 100 + k)
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
        let history = repairs(&life, vin, shape, orders, lines, odometer);
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

/// A kind of workshop visit: what the customer says, what the workshop finds, and the
/// labour operations and parts it uses (cycled through for as many lines as the order has).
struct Job {
    complaint: &'static str,
    fault_code: &'static str,
    diagnosis: &'static str,
    warrantable: bool,
    operations: &'static [(&'static str, &'static str, i64)],
    parts: &'static [(&'static str, &'static str, i64, bool)],
}

const MAINTENANCE: Job = Job {
    complaint: "定期保养",
    fault_code: "",
    diagnosis: "按保养手册完成定期保养，车辆状况良好",
    warrantable: false,
    operations: &[
        ("LOF-01", "更换机油及机油滤清器", 80),
        ("INS-10", "定期检查", 50),
    ],
    parts: &[
        ("15400-DN-003", "机油滤清器", 4_800, false),
        ("08880-DN-5W30", "机油 5W-30 1L", 6_500, false),
        ("17220-DN-A01", "空气滤清器", 9_800, false),
        ("80292-DN-C01", "空调滤清器", 12_000, false),
    ],
};

const REPAIRS: [Job; 6] = [
    Job {
        complaint: "发动机故障灯亮，怠速抖动",
        fault_code: "P0301",
        diagnosis: "1缸失火，点火线圈损坏",
        warrantable: true,
        operations: &[
            ("DIAG-01", "电控系统诊断", 50),
            ("IGN-02", "更换点火线圈", 60),
        ],
        parts: &[
            ("30520-DN-IG1", "点火线圈", 38_000, true),
            ("12290-DN-SP4", "火花塞", 6_800, false),
        ],
    },
    Job {
        complaint: "制动时有异响",
        fault_code: "",
        diagnosis: "前制动片磨损到极限",
        warrantable: false,
        operations: &[("BRK-02", "更换前制动片", 120)],
        parts: &[
            ("45022-DN-B12", "前制动片组", 48_000, false),
            ("08798-DN-BF4", "制动液 DOT4 1L", 8_800, false),
        ],
    },
    Job {
        complaint: "空调不制冷",
        fault_code: "B1421",
        diagnosis: "空调压缩机电磁阀故障",
        warrantable: true,
        operations: &[
            ("DIAG-01", "电控系统诊断", 50),
            ("AC-03", "空调系统检修及加注冷媒", 150),
        ],
        parts: &[
            ("38810-DN-AC7", "空调压缩机电磁阀", 56_000, true),
            ("08870-DN-R134", "冷媒 R134a", 9_500, false),
        ],
    },
    Job {
        complaint: "车辆停放一夜后无法启动",
        fault_code: "U0100",
        diagnosis: "12V 蓄电池失效",
        warrantable: true,
        operations: &[("BAT-01", "更换12V蓄电池", 40)],
        parts: &[("31500-DN-12V", "12V 蓄电池", 72_000, true)],
    },
    Job {
        complaint: "高速行驶方向盘抖动",
        fault_code: "",
        diagnosis: "前轮动平衡失准，轮胎偏磨",
        warrantable: false,
        operations: &[("ALN-01", "四轮定位", 80), ("TYR-02", "轮胎动平衡", 60)],
        parts: &[
            ("42700-DN-T17", "轮胎 225/60 R17", 86_000, true),
            ("42611-DN-WB", "平衡块", 1_200, false),
        ],
    },
    Job {
        complaint: "充电中断，仪表提示充电故障",
        fault_code: "P0D27",
        diagnosis: "车载充电机通信故障，升级软件并更换充电口总成",
        warrantable: true,
        operations: &[
            ("HV-02", "高压系统检测", 100),
            ("HV-05", "更换充电口总成", 150),
        ],
        parts: &[("96190-DN-CP1", "充电口总成", 168_000, true)],
    },
];

struct RepairHistory {
    orders: i64,
    last_reading: Option<(DateTime<Utc>, i64)>,
}

/// Closed repair orders of a delivered vehicle, with an odometer reading at each opening.
fn repairs(
    life: &Life,
    vin: &str,
    shape: &Shape,
    orders: &mut CopyText,
    lines: &mut CopyText,
    odometer: &mut CopyText,
) -> RepairHistory {
    let mut rng = Rng::new(REPAIR_SEED ^ life.n.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let expected = shape.orders_per_year * years_of_service(life);
    let count = (expected.floor() as u64 + u64::from(unit(&mut rng) < expected.fract())).min(99);
    let (from, to) = service_window(life);
    let span = (to - from).num_seconds().max(0) as f64;
    let mut times: Vec<DateTime<Utc>> = (0..count)
        .map(|_| from + TimeDelta::seconds((span * unit(&mut rng)) as i64))
        .collect();
    times.sort();
    let sold_on = life.sold_at.date_naive();
    let months = u32::try_from(life.model.warranty_months).unwrap_or(0);
    let mut last_reading = None;
    for (k, opened) in times.into_iter().enumerate() {
        let id = repair_order_id(life.n, k as u64);
        let km = life.km_at(opened);
        let own_station = rng.chance(85);
        let station_code = station(if own_station {
            life.home_station
        } else {
            rng.below(super::STATIONS as usize) as u64
        });
        let owner = match life.resold_at {
            Some(at) if opened >= at => life.second_owner(shape.customers),
            _ => life.first_owner(shape.customers),
        };
        let job = if rng.chance(55) {
            &MAINTENANCE
        } else {
            rng.pick(&REPAIRS)
        };
        let cover = warranty::check(
            Some(sold_on),
            false,
            months,
            i64::from(life.model.warranty_km),
            opened.date_naive(),
            km,
        );
        let covered = cover == warranty::Cover::Covered && job.warrantable;
        // Just out of cover: the maker sometimes pays as goodwill.
        let goodwill = job.warrantable
            && cover != warranty::Cover::Covered
            && opened.date_naive() <= warranty::end_date(sold_on, months + 6);
        let completed = opened + TimeDelta::minutes(40 + rng.below(320) as i64);
        let closed = completed + TimeDelta::minutes(10 + rng.below(170) as i64);
        let hourly = 18_000 + 1_000 * (life.home_station % 21) as i64;
        let technician = format!("T{:05}", rng.below(100_000));
        let count = 1 + weighted(&mut rng, &LINE_WEIGHTS);
        let mut totals = [0i64; 6]; // labour hundredths, labour, parts, customer, warranty, goodwill
        let (mut labour_lines, mut part_lines) = (0, 0);
        for line_no in 1..=count {
            let pay = if covered && rng.chance(80) {
                "WARRANTY"
            } else if goodwill && rng.chance(30) {
                "GOODWILL"
            } else {
                "CUSTOMER"
            };
            let i = line_no - 1;
            let created = opened + TimeDelta::minutes(5 * line_no as i64);
            lines.uuid(id).int(line_no as i64);
            // The first line is labour; after it parts, and the job's other operations on
            // every second line until each was used once.
            let amount = if i == 0 || (i % 2 == 0 && labour_lines < job.operations.len()) {
                let (code, text, base) = job.operations[labour_lines % job.operations.len()];
                labour_lines += 1;
                let hundredths = base + 10 * rng.below(4) as i64;
                let amount = (hundredths * hourly + 50) / 100;
                lines
                    .text("LABOUR")
                    .text(pay)
                    .text(job.fault_code)
                    .text(text)
                    .text(code)
                    .int(hundredths)
                    .text(&technician)
                    .null()
                    .null()
                    .null()
                    .null()
                    .int(hourly)
                    .int(amount);
                totals[0] += hundredths;
                totals[1] += amount;
                amount
            } else {
                let (number, text, price, serialised) = job.parts[part_lines % job.parts.len()];
                part_lines += 1;
                // Engine oil goes by the litre.
                let quantity: i64 = if number.starts_with("08880") { 4 } else { 1 };
                let batch = format!("B{}-{:02}", opened.format("%y%m"), 1 + rng.below(40));
                let serial = serialised.then(|| format!("SN{:010}", rng.below(10_000_000_000)));
                let amount = quantity * price;
                lines
                    .text("PART")
                    .text(pay)
                    .text(job.fault_code)
                    .text(text)
                    .null()
                    .null()
                    .null()
                    .text(number)
                    .text(&batch)
                    .opt_text(serial.as_deref())
                    .int(quantity)
                    .int(price)
                    .int(amount);
                totals[2] += amount;
                amount
            };
            lines.null().time(created).end();
            totals[match pay {
                "WARRANTY" => 4,
                "GOODWILL" => 5,
                _ => 3,
            }] += amount;
        }
        orders
            .uuid(id)
            .text(vin)
            .text(&station_code)
            .uuid(customer_id(owner))
            .text(&format!("SA{:04}", rng.below(10_000)))
            .text(job.complaint)
            .text(job.diagnosis)
            .int(km)
            .text("CLOSED")
            .text(CURRENCY)
            .time(opened)
            .time(completed)
            .time(closed);
        for total in totals {
            orders.int(total);
        }
        orders.int(0).int(4 + count as i64).time(closed).end();
        odometer
            .text(vin)
            .time(opened)
            .int(km)
            .text("REPAIR_ORDER")
            .bool(false)
            .text(&station_code)
            .end();
        last_reading = Some((opened, km));
    }
    RepairHistory {
        orders: count as i64,
        last_reading,
    }
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

/// An index drawn with the given percentage weights (summing to 100).
fn weighted(rng: &mut Rng, weights: &[usize]) -> usize {
    let mut x = rng.below(100);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
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

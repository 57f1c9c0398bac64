//! Closed repair orders of a delivered vehicle: how many (by years of use), when, at which
//! station, what was done (a maintenance or one of a few typical repairs) and who paid for
//! each line, with an odometer reading at each opening as the service records one.

use chrono::{DateTime, TimeDelta, Utc};
use dealernet_customers::demo::Rng;
use dealernet_vehicles::domain::warranty;
use uuid::Uuid;

use super::{CURRENCY, data_end, life::Life, rows::Shape, station, unit};
use crate::{copy_text::CopyText, customer_id};

/// Mixed into the seed of a vehicle's repair history.
const REPAIR_SEED: u64 = 0x7265_7061_6972_7321;
/// Lines per repair order 1..=6 with these weights (percent): 3.32 lines on average.
const LINE_WEIGHTS: [usize; 6] = [12, 20, 25, 20, 13, 10];
pub const MEAN_LINES: f64 = 3.32;
/// Repair orders start this long after delivery and end a day before the data ends.
const FIRST_SERVICE_DAYS: i64 = 14;

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

/// Repair order `k` (0-based) of vehicle `n`.
pub fn repair_order_id(n: u64, k: u64) -> Uuid {
    super::rows::numbered_uuid("9000", n * 100 + k)
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

pub(super) struct RepairHistory {
    pub orders: i64,
    pub last_reading: Option<(DateTime<Utc>, i64)>,
}

/// Closed repair orders of a delivered vehicle, with an odometer reading at each opening.
pub(super) fn write(
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

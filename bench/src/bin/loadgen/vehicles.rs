//! VehicleService scenarios on loaded vehicles: GetVehicle and GetVehicleTimeline of a
//! random VIN, and a service station's whole repair-order cycle on a delivered vehicle.

use chrono::Utc;
use dealernet_bench::vehicles::{self, life::Life};
use dealernet_customers::demo::Rng;
use dealernet_proto::{
    types::v1::Money,
    vehicles::v1::{self as pb, vehicle_service_client::VehicleServiceClient},
};
use tonic::{Status, transport::Channel};

use super::{Ctx, Scenario, measure::Outcome};

pub struct Caller {
    pub client: VehicleServiceClient<Channel>,
    pub ctx: Ctx,
    pub scenario: Scenario,
    /// Key-space size: vehicles 1..=N exist.
    pub vehicles: u64,
    /// The station the repair orders are opened at (the token's organisation).
    pub station: String,
    /// sale-cycle: buyers are customers 1..=N.
    pub customers: u64,
    /// sale-cycle: the first new (unregistered) vehicle number, and how many workers
    /// share the numbers after it.
    pub new_from: u64,
    pub workers: u64,
}

/// The cycle's lines, all paid by the customer: 1.2 h at 280 CNY, one oil filter at 48 CNY,
/// four litres of oil at 65 CNY (the bench catalogue's part numbers).
const HOURLY_FEN: i64 = 28_000;
const LABOUR_HOURS: f64 = 1.2;
const PARTS: [(&str, &str, i32, i64); 2] = [
    ("15400-DN-003", "机油滤清器", 1, 4_800),
    ("08880-DN-5W30", "机油 5W-30 1L", 4, 6_500),
];
/// What the closed order must total: 336.00 + 48.00 + 260.00 CNY.
const EXPECTED_TOTAL_FEN: i64 = 33_600 + 4_800 + 4 * 6_500;

fn cny(minor_units: i64) -> Option<Money> {
    Some(Money {
        currency_code: vehicles::CURRENCY.to_owned(),
        minor_units,
    })
}

/// Records one response of a cycle; `Err` ends the cycle.
pub fn step<T>(
    out: &mut Outcome,
    method: &str,
    result: Result<tonic::Response<T>, Status>,
) -> Result<T, ()> {
    match result {
        Ok(r) => {
            out.responses.push(format!("{method}:Ok"));
            Ok(r.into_inner())
        }
        Err(status) => {
            out.responses.push(format!("{method}:{:?}", status.code()));
            Err(())
        }
    }
}

impl Caller {
    pub async fn unit(&mut self, rng: &mut Rng, seq: u64) -> Outcome {
        match self.scenario {
            Scenario::GetVehicle => {
                let vin = vehicles::vin(1 + rng.below(self.vehicles as usize) as u64);
                let name = format!("vehicles/{vin}");
                let r = self
                    .client
                    .get_vehicle(self.ctx.request(pb::GetVehicleRequest {
                        name,
                        include_owner: false,
                    }))
                    .await;
                Outcome::single(r, |r| {
                    r.get_ref()
                        .vehicle
                        .as_ref()
                        .is_some_and(|v| v.vin == vin.as_str())
                })
            }
            Scenario::VehicleTimeline => {
                let vin = vehicles::vin(1 + rng.below(self.vehicles as usize) as u64);
                let request = pb::GetVehicleTimelineRequest {
                    vehicle: format!("vehicles/{vin}"),
                    page_size: 0,
                    page_token: String::new(),
                };
                let r = self
                    .client
                    .get_vehicle_timeline(self.ctx.request(request))
                    .await;
                // Every loaded vehicle has at least its production entry.
                Outcome::single(r, |r| !r.get_ref().events.is_empty())
            }
            Scenario::RepairCycle => {
                let n = vehicles::random_repairable(rng, self.vehicles);
                let mut out = Outcome::default();
                out.ok = self.repair_cycle(n, seq, &mut out).await.is_ok();
                out
            }
            Scenario::SaleCycle => {
                let n = self.new_from + seq * self.workers + self.ctx.worker as u64;
                let buyer = 1 + rng.below(self.customers as usize) as u64;
                let mut out = Outcome::default();
                out.ok = self.sale_cycle(n, buyer, &mut out).await.is_ok();
                out
            }
            other => unreachable!("{other:?} is not a vehicle scenario"),
        }
    }

    /// OpenRepairOrder → three AddRepairOrderLine → IN_PROGRESS → COMPLETED (with the
    /// diagnosis) → CLOSED, each with its own request id, as a workshop system would.
    async fn repair_cycle(&mut self, n: u64, seq: u64, out: &mut Outcome) -> Result<(), ()> {
        let vin = vehicles::vin(n);
        let ctx = self.ctx.clone();
        let request_id = |what: &str| format!("bench-{}-{}-{seq}-{what}", ctx.run_id, ctx.worker);
        // Today's odometer of this car: never below a reading it already has.
        let km = Life::new(n).km_at(Utc::now());
        let open = pb::OpenRepairOrderRequest {
            vehicle: format!("vehicles/{vin}"),
            station: self.station.clone(),
            customer: String::new(),
            service_advisor: "SA0001".to_owned(),
            complaint: "定期保养".to_owned(),
            odometer_km: km,
            currency_code: vehicles::CURRENCY.to_owned(),
            request_id: request_id("open"),
        };
        let r = self.client.open_repair_order(ctx.request(open)).await;
        let order = step(out, "OpenRepairOrder", r)?
            .repair_order
            .map(|o| o.name)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| out.responses.push("OpenRepairOrder:NoOrder".to_owned()))?;
        let labour = pb::repair_order_line::Item::Labour(pb::LabourLine {
            operation_code: "LOF-01".to_owned(),
            hours: LABOUR_HOURS,
            technician: "T00001".to_owned(),
            hourly_rate: cny(HOURLY_FEN),
        });
        let parts = PARTS.iter().map(|(number, _, quantity, unit)| {
            pb::repair_order_line::Item::Part(pb::PartLine {
                part_number: (*number).to_owned(),
                batch: "B2611-01".to_owned(),
                serial: String::new(),
                quantity: *quantity,
                unit_price: cny(*unit),
            })
        });
        let descriptions = ["更换机油及机油滤清器", PARTS[0].1, PARTS[1].1];
        for (i, item) in std::iter::once(labour).chain(parts).enumerate() {
            let add = pb::AddRepairOrderLineRequest {
                repair_order: order.clone(),
                line: Some(pb::RepairOrderLine {
                    item: Some(item),
                    pay_type: pb::PayType::Customer as i32,
                    description: descriptions[i].to_owned(),
                    ..Default::default()
                }),
                request_id: request_id(&format!("line{i}")),
            };
            let r = self.client.add_repair_order_line(ctx.request(add)).await;
            step(out, "AddRepairOrderLine", r)?;
        }
        let statuses = [
            (pb::RepairOrderStatus::InProgress, ""),
            (
                pb::RepairOrderStatus::Completed,
                "按保养手册完成定期保养，车辆状况良好",
            ),
            (pb::RepairOrderStatus::Closed, ""),
        ];
        let mut last = None;
        for (status, diagnosis) in statuses {
            let set = pb::SetRepairOrderStatusRequest {
                repair_order: order.clone(),
                status: status as i32,
                diagnosis: diagnosis.to_owned(),
                etag: String::new(),
                request_id: request_id(status.as_str_name()),
            };
            let r = self.client.set_repair_order_status(ctx.request(set)).await;
            last = step(out, "SetRepairOrderStatus", r)?.repair_order;
        }
        // The closed order must carry the three lines and their total.
        let closed = last.as_ref().is_some_and(|o| {
            o.status == pb::RepairOrderStatus::Closed as i32
                && o.lines.len() == 3
                && o.totals
                    .as_ref()
                    .and_then(|t| t.total.as_ref())
                    .is_some_and(|t| t.minor_units == EXPECTED_TOTAL_FEN)
        });
        if !closed {
            out.responses
                .push("SetRepairOrderStatus:OkUnexpectedContent".to_owned());
            return Err(());
        }
        Ok(())
    }
}

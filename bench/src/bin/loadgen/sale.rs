//! sale-cycle: a new car's way to its buyer, each step as the platform's clients make it —
//! RegisterProduction, DispatchShipment to the dealer, ReceiveAtDealer, SellVehicle to a
//! random registry customer, DeliverVehicle. One unit is the whole cycle; every step
//! writes its timeline entry and event, the sale a VehicleSold (what `event_lag` times).
//!
//! Cars are new numbers from --new-from on: worker `w` takes `new_from + seq × workers + w`,
//! so no two units touch one car.

use chrono::{TimeDelta, Utc};
use dealernet_bench::vehicles::{self, life::Life};
use dealernet_proto::{types::v1::Money, vehicles::v1 as pb};

use super::{measure::Outcome, vehicles::Caller, vehicles::step};

/// The dev network's sales outlet that receives and sells the cars.
pub const DEALER: &str = "D1001";

fn timestamp(at: chrono::DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

impl Caller {
    /// The cycle for car `n`, bought by customer `buyer`.
    pub async fn sale_cycle(&mut self, n: u64, buyer: u64, out: &mut Outcome) -> Result<(), ()> {
        let life = Life::new(n);
        let vin = vehicles::vin(n).to_string();
        let vehicle = format!("vehicles/{vin}");
        let ctx = self.ctx.clone();
        let request_id = |what: &str| format!("bench-sale-{}-{n}-{what}", ctx.run_id);
        let (plant, _) = vehicles::life::PLANTS[life.plant];
        let (carrier, _) = vehicles::life::CARRIERS[life.carrier];
        let now = Utc::now();
        let produce = pb::RegisterProductionRequest {
            vin: vin.clone(),
            model: format!("models/{}", life.model.code),
            plant: plant.to_owned(),
            line: life.line.clone(),
            built_at: timestamp(now - TimeDelta::hours(2)),
            engine_number: life.engine_number.clone(),
            colour: life.colour.to_owned(),
            request_id: request_id("produce"),
        };
        let r = self.client.register_production(ctx.request(produce)).await;
        step(out, "RegisterProduction", r)?;
        let dispatch = pb::DispatchShipmentRequest {
            vins: vec![vin.clone()],
            carrier: carrier.to_owned(),
            origin: plant.to_owned(),
            destination_outlet: DEALER.to_owned(),
            eta: timestamp(now + TimeDelta::days(3)),
            request_id: request_id("dispatch"),
        };
        let r = self.client.dispatch_shipment(ctx.request(dispatch)).await;
        step(out, "DispatchShipment", r)?;
        let receive = pb::ReceiveAtDealerRequest {
            vehicle: vehicle.clone(),
            outlet: DEALER.to_owned(),
            request_id: request_id("receive"),
        };
        let r = self.client.receive_at_dealer(ctx.request(receive)).await;
        step(out, "ReceiveAtDealer", r)?;
        let sell = pb::SellVehicleRequest {
            vehicle: vehicle.clone(),
            customer: format!("customers/{}", dealernet_bench::customer_id(buyer)),
            price: Some(Money {
                currency_code: vehicles::CURRENCY.to_owned(),
                minor_units: life.sale.price_minor,
            }),
            sales_person: life.sale.sales_person.clone(),
            sale_type: pb::SaleType::Retail as i32,
            request_id: request_id("sell"),
        };
        let r = self.client.sell_vehicle(ctx.request(sell)).await;
        let sold = step(out, "SellVehicle", r)?;
        let deliver = pb::DeliverVehicleRequest {
            vehicle,
            odometer_km: 12,
            request_id: request_id("deliver"),
        };
        let r = self.client.deliver_vehicle(ctx.request(deliver)).await;
        let delivered = step(out, "DeliverVehicle", r)?;
        let is = |v: &Option<pb::Vehicle>, state: pb::VehicleState| {
            v.as_ref().is_some_and(|v| v.state == state as i32)
        };
        if !is(&sold.vehicle, pb::VehicleState::Sold)
            || !is(&delivered.vehicle, pb::VehicleState::Delivered)
        {
            out.responses.push("SaleCycle:OkUnexpectedState".to_owned());
            return Err(());
        }
        Ok(())
    }
}

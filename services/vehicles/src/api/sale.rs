//! Sale, delivery, ownership transfer and scrapping.

use chrono::{NaiveDate, Utc};
use dealernet_kit::{auth::Principal, error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::{types::v1 as types, vehicles::v1 as pb};

use super::{
    Result, commit, replay, require_head_office,
    stock::{Actor, authorize_outlet, customer_id},
    vehicle::{short_text, vehicle_name, vehicle_to_proto},
};
use crate::{
    Error, Service,
    domain::{
        lifecycle::{Action, State},
        vehicle::Sale,
    },
    store,
};

/// Most kilometres a new car may show at delivery.
const MAX_DELIVERY_KM: i64 = 10_000;

impl Service {
    pub(super) async fn sell_vehicle(
        &self,
        principal: &Principal,
        req: pb::SellVehicleRequest,
    ) -> Result<pb::SellVehicleResponse> {
        let key = IdempotencyKey::new(principal, "SellVehicle", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let customer = customer_id(&mut v, "customer", &req.customer);
        let money = req.price.clone().unwrap_or_default();
        let currency = if money.currency_code.is_empty() {
            "CNY".to_owned()
        } else {
            money.currency_code.clone()
        };
        if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
            v.add(
                "price.currency_code",
                "must be an ISO 4217 code such as CNY",
            );
        }
        if money.minor_units <= 0 {
            v.add("price.minor_units", "must be positive");
        }
        let sales_person = short_text(&mut v, "sales_person", &req.sales_person);
        let sale_kind = pb::SaleType::try_from(req.sale_type).unwrap_or_default();
        let sale_type = match sale_kind {
            pb::SaleType::Retail => "RETAIL",
            pb::SaleType::Fleet => "FLEET",
            pb::SaleType::Demo => "DEMO",
            pb::SaleType::Unspecified => {
                v.add("sale_type", "required: one of the SALE_TYPE_* values");
                ""
            }
        };
        let (Some(vin), Some(customer)) = (vin, customer) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        // Asked before the transaction: no row lock is held across a network call.
        self.check_acting_outlet(principal, &vin, crate::outlets::Action::Sell)
            .await?;
        let buyer = self.customers.confirm(customer, "vehicle sale").await?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let now = crate::now();
        let current = store::vehicle::load(&mut tx, &vin, true)
            .await?
            .ok_or_else(|| Error::VehicleNotFound(req.vehicle.clone()))?;
        let list = store::list_prices(
            &mut tx,
            &current.model_code,
            Some(now.date_naive()),
            None,
            1,
        )
        .await?
        .into_iter()
        .next();
        let list_minor = list
            .filter(|p| p.currency_code == currency)
            .map(|p| p.minor_units);
        let details = vec![
            ("customer".to_owned(), format!("customers/{buyer}")),
            (
                "price".to_owned(),
                format!("{currency} {}", money.minor_units),
            ),
            ("sales_person".to_owned(), sales_person.clone()),
            ("sale_type".to_owned(), sale_type.to_owned()),
        ];
        let vehicle = self
            .act(
                &mut tx,
                &vin,
                Action::Sell,
                &Actor(principal),
                details,
                |veh| {
                    authorize_outlet(principal, &veh.holder_outlet)?;
                    if veh.state == State::Reserved && veh.reserved_for != Some(buyer) {
                        return Err(Error::Precondition {
                            reason: "VEHICLE_RESERVED_FOR_ANOTHER",
                            message: "the vehicle is reserved for another customer".into(),
                        });
                    }
                    veh.owner = Some(buyer);
                    (veh.reserved_for, veh.reserved_until) = (None, None);
                    Ok(())
                },
            )
            .await?;
        let sale = Sale {
            vin: vin.clone(),
            outlet: vehicle.holder_outlet.clone(),
            customer: buyer,
            currency_code: currency.clone(),
            price_minor: money.minor_units,
            list_minor,
            sales_person,
            sale_type,
            sold_at: now,
        };
        store::vehicle::insert_sale(&mut tx, &sale).await?;
        crate::events::vehicle_sold(&mut tx, principal, &vehicle, &sale, sale_kind).await?;
        store::vehicle::add_owner(&mut tx, &vin, buyer, now.date_naive()).await?;
        let response = pb::SellVehicleResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
            deviation: list_minor.map(|list| types::Money {
                currency_code: currency.clone(),
                minor_units: money.minor_units - list,
            }),
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }

    pub(super) async fn deliver_vehicle(
        &self,
        principal: &Principal,
        req: pb::DeliverVehicleRequest,
    ) -> Result<pb::DeliverVehicleResponse> {
        let key = IdempotencyKey::new(principal, "DeliverVehicle", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        if !(0..=MAX_DELIVERY_KM).contains(&req.odometer_km) {
            v.add(
                "odometer_km",
                format!("must be 0 to {MAX_DELIVERY_KM} for a new car"),
            );
        }
        let Some(vin) = vin else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let details = vec![("odometer_km".to_owned(), req.odometer_km.to_string())];
        let vehicle = self
            .act(
                &mut tx,
                &vin,
                Action::Deliver,
                &Actor(principal),
                details,
                |veh| {
                    authorize_outlet(principal, &veh.holder_outlet)?;
                    veh.odometer_km = req.odometer_km;
                    veh.holder_outlet.clear();
                    Ok(())
                },
            )
            .await?;
        store::vehicle::set_delivered(&mut tx, &vin, vehicle.update_time, req.odometer_km).await?;
        store::vehicle::add_odometer_reading(
            &mut tx,
            &vin,
            vehicle.update_time,
            req.odometer_km,
            "DELIVERY",
            principal.organization(),
        )
        .await?;
        let response = pb::DeliverVehicleResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }

    pub(super) async fn transfer_ownership(
        &self,
        principal: &Principal,
        req: pb::TransferOwnershipRequest,
    ) -> Result<pb::TransferOwnershipResponse> {
        let key = IdempotencyKey::new(principal, "TransferOwnership", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let owner = customer_id(&mut v, "new_owner", &req.new_owner);
        let since = req.since.as_ref().and_then(|d| {
            NaiveDate::from_ymd_opt(
                d.year,
                u32::try_from(d.month).ok()?,
                u32::try_from(d.day).ok()?,
            )
        });
        match since {
            None => v.add("since", "required: a calendar date"),
            Some(d) if d > Utc::now().date_naive() => v.add("since", "must not be in the future"),
            Some(_) => {}
        }
        let (Some(vin), Some(owner), Some(since)) = (vin, owner, since) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let new_owner = self.customers.confirm(owner, "ownership transfer").await?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let (seller, sold_at) = store::vehicle::sale_of(&mut tx, &vin)
            .await?
            .unwrap_or_default();
        if !principal.is_head_office() {
            authorize_outlet(principal, &seller)?;
        }
        if since < sold_at.date_naive() {
            return Err(FieldViolations::one("since", "must not be before the sale").into());
        }
        let details = vec![
            ("new_owner".to_owned(), format!("customers/{new_owner}")),
            ("since".to_owned(), since.to_string()),
        ];
        let vehicle = self
            .act(
                &mut tx,
                &vin,
                Action::TransferOwnership,
                &Actor(principal),
                details,
                |veh| {
                    if veh.owner == Some(new_owner) {
                        return Err(Error::Precondition {
                            reason: "ALREADY_OWNER",
                            message: "the customer already owns the vehicle".into(),
                        });
                    }
                    veh.owner = Some(new_owner);
                    Ok(())
                },
            )
            .await?;
        store::vehicle::add_owner(&mut tx, &vin, new_owner, since).await?;
        let response = pb::TransferOwnershipResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }

    pub(super) async fn scrap_vehicle(
        &self,
        principal: &Principal,
        req: pb::ScrapVehicleRequest,
    ) -> Result<pb::ScrapVehicleResponse> {
        require_head_office(principal, "scrapping a vehicle")?;
        let key = IdempotencyKey::new(principal, "ScrapVehicle", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let reason = req.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 500 {
            v.add("reason", "required, at most 500 characters");
        }
        let Some(vin) = vin else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let vehicle = self
            .act(
                &mut tx,
                &vin,
                Action::Scrap,
                &Actor(principal),
                vec![("reason".to_owned(), reason)],
                |veh| {
                    veh.holder_outlet.clear();
                    (veh.reserved_for, veh.reserved_until) = (None, None);
                    Ok(())
                },
            )
            .await?;
        let response = pb::ScrapVehicleResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }
}

//! The catalogue: models, prices, VIN decoding.

use chrono::{Datelike, NaiveDate, Utc};
use dealernet_kit::{auth::Principal, error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::{types::v1 as types, vehicles::v1 as pb};
use prost_types::Timestamp;

use super::{Result, commit, replay, require_head_office};

use crate::{
    Error, Service,
    domain::{
        catalogue::{Body, Model, Powertrain, Price, check_code},
        vin::Vin,
    },
    store,
};

pub(super) fn model_code(name: &str, field: &str) -> std::result::Result<String, FieldViolations> {
    name.strip_prefix("models/")
        .filter(|code| check_code(code).is_ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            FieldViolations::one(
                field,
                format!("'{name}' is not a model name (models/{{code}})"),
            )
        })
}

pub(super) fn date(d: NaiveDate) -> types::Date {
    types::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

fn date_from(d: &types::Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )
}

fn model_to_proto(m: &Model) -> pb::Model {
    pb::Model {
        name: format!("models/{}", m.code),
        code: m.code.clone(),
        brand: m.brand.clone(),
        series: m.series.clone(),
        body: match m.body {
            Body::Sedan => pb::BodyStyle::Sedan,
            Body::Hatchback => pb::BodyStyle::Hatchback,
            Body::Suv => pb::BodyStyle::Suv,
            Body::Mpv => pb::BodyStyle::Mpv,
            Body::Pickup => pb::BodyStyle::Pickup,
            Body::Van => pb::BodyStyle::Van,
        } as i32,
        powertrain: match m.powertrain {
            Powertrain::Ice => pb::Powertrain::Ice,
            Powertrain::Hev => pb::Powertrain::Hev,
            Powertrain::Phev => pb::Powertrain::Phev,
            Powertrain::Bev => pb::Powertrain::Bev,
        } as i32,
        model_year: m.model_year,
        warranty_months: m.warranty_months,
        warranty_km: m.warranty_km,
        create_time: Some(Timestamp {
            seconds: m.create_time.timestamp(),
            nanos: m.create_time.timestamp_subsec_nanos() as i32,
        }),
    }
}

fn price_to_proto(p: &Price) -> pb::ModelPrice {
    pb::ModelPrice {
        name: format!(
            "models/{}/prices/{}",
            p.model_code,
            p.valid_from.format("%Y-%m-%d")
        ),
        price: Some(types::Money {
            currency_code: p.currency_code.clone(),
            minor_units: p.minor_units,
        }),
        valid_from: Some(date(p.valid_from)),
        valid_to: p.valid_to.map(date),
    }
}

/// Parses a client's model, reporting every invalid field under `model.`.
fn model_from_proto(
    m: &pb::Model,
    today: NaiveDate,
) -> std::result::Result<Model, FieldViolations> {
    let mut v = FieldViolations::new();
    let code = m.code.trim().to_owned();
    if let Err(e) = check_code(&code) {
        v.add("model.code", e);
    }
    let mut text = |field: &str, value: &str| {
        let t = value.trim();
        if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control) {
            v.add(field, "required, at most 100 printable characters");
        }
        t.to_owned()
    };
    let brand = text("model.brand", &m.brand);
    let series = text("model.series", &m.series);
    let body = match pb::BodyStyle::try_from(m.body) {
        Ok(pb::BodyStyle::Sedan) => Some(Body::Sedan),
        Ok(pb::BodyStyle::Hatchback) => Some(Body::Hatchback),
        Ok(pb::BodyStyle::Suv) => Some(Body::Suv),
        Ok(pb::BodyStyle::Mpv) => Some(Body::Mpv),
        Ok(pb::BodyStyle::Pickup) => Some(Body::Pickup),
        Ok(pb::BodyStyle::Van) => Some(Body::Van),
        _ => None,
    };
    if body.is_none() {
        v.add("model.body", "required: one of the BODY_STYLE_* values");
    }
    let powertrain = match pb::Powertrain::try_from(m.powertrain) {
        Ok(pb::Powertrain::Ice) => Some(Powertrain::Ice),
        Ok(pb::Powertrain::Hev) => Some(Powertrain::Hev),
        Ok(pb::Powertrain::Phev) => Some(Powertrain::Phev),
        Ok(pb::Powertrain::Bev) => Some(Powertrain::Bev),
        _ => None,
    };
    if powertrain.is_none() {
        v.add(
            "model.powertrain",
            "required: one of the POWERTRAIN_* values",
        );
    }
    if !(1980..=today.year() + 1).contains(&m.model_year) {
        v.add(
            "model.model_year",
            format!("must be between 1980 and {}", today.year() + 1),
        );
    }
    if !(1..=240).contains(&m.warranty_months) {
        v.add("model.warranty_months", "must be 1 to 240");
    }
    if !(1..=2_000_000).contains(&m.warranty_km) {
        v.add("model.warranty_km", "must be 1 to 2,000,000");
    }
    let (Some(body), Some(powertrain)) = (body, powertrain) else {
        return Err(v);
    };
    v.into_result()?;
    Ok(Model {
        code,
        brand,
        series,
        body,
        powertrain,
        model_year: m.model_year,
        warranty_months: m.warranty_months,
        warranty_km: m.warranty_km,
        create_time: crate::now(),
    })
}

fn price_from_proto(code: &str, p: &pb::ModelPrice) -> std::result::Result<Price, FieldViolations> {
    let mut v = FieldViolations::new();
    let money = p.price.clone().unwrap_or_default();
    let currency_code = if money.currency_code.is_empty() {
        "CNY".to_owned()
    } else {
        money.currency_code.clone()
    };
    if !(currency_code.len() == 3 && currency_code.bytes().all(|b| b.is_ascii_uppercase())) {
        v.add(
            "price.price.currency_code",
            "must be an ISO 4217 code such as CNY",
        );
    }
    if money.minor_units <= 0 {
        v.add("price.price.minor_units", "must be positive");
    }
    let valid_from = p.valid_from.as_ref().and_then(date_from);
    if valid_from.is_none() {
        v.add("price.valid_from", "required: a calendar date");
    }
    let valid_to = match &p.valid_to {
        None => None,
        Some(d) if *d == types::Date::default() => None,
        Some(d) => {
            let to = date_from(d);
            if to.is_none() {
                v.add("price.valid_to", "must be a calendar date");
            }
            to
        }
    };
    if let (Some(from), Some(to)) = (valid_from, valid_to)
        && to < from
    {
        v.add("price.valid_to", "must not be before valid_from");
    }
    v.into_result()?;
    Ok(Price {
        model_code: code.to_owned(),
        valid_from: valid_from.unwrap_or_default(),
        valid_to,
        currency_code,
        minor_units: money.minor_units,
    })
}

impl Service {
    pub(super) async fn create_model(
        &self,
        principal: &Principal,
        req: pb::CreateModelRequest,
    ) -> Result<pb::CreateModelResponse> {
        require_head_office(principal, "changing the catalogue")?;
        let key = IdempotencyKey::new(principal, "CreateModel", &req.request_id, &req)?;
        let input = req
            .model
            .as_ref()
            .ok_or_else(|| FieldViolations::one("model", "required"))?;
        let model = model_from_proto(input, Utc::now().date_naive())?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        store::insert_model(&mut tx, &model)
            .await
            .map_err(|e| match Error::from(e) {
                Error::ModelExists(_) => Error::ModelExists(model.code.clone()),
                other => other,
            })?;
        let response = pb::CreateModelResponse {
            model: Some(model_to_proto(&model)),
        };
        commit(
            tx,
            key.as_ref(),
            response,
            &format!("models/{}", model.code),
        )
        .await
    }

    pub(super) async fn get_model(&self, req: pb::GetModelRequest) -> Result<pb::GetModelResponse> {
        let code = model_code(&req.name, "name")?;
        let mut conn = self.pool.acquire().await?;
        let model = store::load_model(&mut conn, &code, false)
            .await?
            .ok_or_else(|| Error::ModelNotFound(req.name.clone()))?;
        Ok(pb::GetModelResponse {
            model: Some(model_to_proto(&model)),
        })
    }

    pub(super) async fn list_models(
        &self,
        req: pb::ListModelsRequest,
    ) -> Result<pb::ListModelsResponse> {
        let mut v = FieldViolations::new();
        let brand = (!req.brand.trim().is_empty()).then(|| req.brand.trim().to_owned());
        let year = (req.model_year != 0).then_some(req.model_year);
        let filters = format!("{brand:?}|{year:?}").into_bytes();
        let (size, after) =
            self.page_tokens
                .page::<String>(&mut v, req.page_size, &req.page_token, &filters);
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let mut models = store::list_models(
            &mut conn,
            brand.as_deref(),
            year,
            after.as_deref(),
            size + 1,
        )
        .await?;
        let next_page_token = self
            .page_tokens
            .next_page(&mut models, size, &filters, |m| m.code.clone());
        Ok(pb::ListModelsResponse {
            models: models.iter().map(model_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn create_model_price(
        &self,
        principal: &Principal,
        req: pb::CreateModelPriceRequest,
    ) -> Result<pb::CreateModelPriceResponse> {
        require_head_office(principal, "changing the price list")?;
        let key = IdempotencyKey::new(principal, "CreateModelPrice", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let code = model_code(&req.parent, "parent")
            .map_err(|e| v.append(e))
            .ok();
        let price = match (&code, &req.price) {
            (_, None) => {
                v.add("price", "required");
                None
            }
            (Some(code), Some(p)) => price_from_proto(code, p).map_err(|e| v.append(e)).ok(),
            (None, Some(_)) => None,
        };
        v.into_result()?;
        let (Some(code), Some(price)) = (code, price) else {
            return Err(FieldViolations::one("price", "required").into());
        };
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        // The model's row lock serialises price changes, so the overlap check holds.
        store::load_model(&mut tx, &code, true)
            .await?
            .ok_or_else(|| Error::ModelNotFound(req.parent.clone()))?;
        let existing = store::list_prices(&mut tx, &code, None, None, usize::MAX >> 1).await?;
        if let Some(clash) = existing.iter().find(|p| p.overlaps(&price)) {
            return Err(Error::Precondition {
                reason: "PRICE_PERIOD_OVERLAPS",
                message: format!("overlaps the price valid from {}", clash.valid_from),
            });
        }
        store::insert_price(&mut tx, &price, crate::now()).await?;
        let response = pb::CreateModelPriceResponse {
            price: Some(price_to_proto(&price)),
        };
        commit(tx, key.as_ref(), response, &req.parent).await
    }

    pub(super) async fn list_model_prices(
        &self,
        req: pb::ListModelPricesRequest,
    ) -> Result<pb::ListModelPricesResponse> {
        let mut v = FieldViolations::new();
        let code = model_code(&req.parent, "parent")
            .map_err(|e| v.append(e))
            .ok();
        let valid_on = match &req.valid_on {
            None => None,
            Some(d) => date_from(d).or_else(|| {
                v.add("valid_on", "must be a calendar date");
                None
            }),
        };
        let filters = format!("{}|{valid_on:?}", req.parent).into_bytes();
        let (size, after) =
            self.page_tokens
                .page::<i32>(&mut v, req.page_size, &req.page_token, &filters);
        v.into_result()?;
        let code = code.unwrap_or_default();
        let mut conn = self.pool.acquire().await?;
        store::load_model(&mut conn, &code, false)
            .await?
            .ok_or_else(|| Error::ModelNotFound(req.parent.clone()))?;
        // The cursor is the last start date, as days since the common era.
        let after = after.and_then(NaiveDate::from_num_days_from_ce_opt);
        let mut prices = store::list_prices(&mut conn, &code, valid_on, after, size + 1).await?;
        let next_page_token = self
            .page_tokens
            .next_page(&mut prices, size, &filters, |p| {
                p.valid_from.num_days_from_ce()
            });
        Ok(pb::ListModelPricesResponse {
            prices: prices.iter().map(price_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) fn decode_vin(&self, req: pb::DecodeVinRequest) -> Result<pb::DecodeVinResponse> {
        let vin = Vin::parse(&req.vin).map_err(|e| FieldViolations::one("vin", e.to_string()))?;
        Ok(pb::DecodeVinResponse {
            vin: vin.as_str().to_owned(),
            wmi: vin.wmi().to_owned(),
            region: vin.region().to_owned(),
            model_year: vin.model_year(Utc::now().date_naive()).unwrap_or_default(),
        })
    }
}

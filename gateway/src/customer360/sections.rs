//! The sections of a Customer360 answer, each fetched from its service with its own
//! deadline and status.

use std::future::Future;

use dealernet_kit::telemetry::TracedChannel;
use dealernet_proto::{
    callcenter::v1::{self as callcenter, call_center_service_client::CallCenterServiceClient},
    gateway::v1 as pb,
    vehicles::v1::{self as vehicles, vehicle_service_client::VehicleServiceClient},
};
use tonic::{Code, Status};

use super::{Ctx, MAX_VEHICLES};

/// Connections to the services the sections come from.
#[derive(Debug, Clone)]
pub(super) struct Channels {
    pub vehicles: TracedChannel,
    pub callcenter: TracedChannel,
}

/// Every section, each complete or marked.
pub(super) struct Sections {
    pub vehicles: pb::VehiclesSection,
    pub repair_orders: pb::RepairOrdersSection,
    pub open_cases: pb::CasesSection,
    pub pending_callbacks: pb::CallbacksSection,
    pub surveys: pb::SurveysSection,
}

/// Fetches every section of customer `customer` (`customers/{id}`) at once.
pub(super) async fn fetch(ctx: &Ctx, channels: &Channels, customer: &str) -> Sections {
    let (vehicles, repair_orders, open_cases, pending_callbacks, surveys) = tokio::join!(
        section(ctx, vehicles_of(ctx, channels, customer)),
        section(ctx, repair_orders_of(ctx, channels, customer)),
        section(ctx, open_cases_of(ctx, channels, customer)),
        section(ctx, pending_callbacks_of(ctx, channels, customer)),
        section(ctx, surveys_of(ctx, channels, customer)),
    );
    Sections {
        vehicles: pb::VehiclesSection {
            status: Some(vehicles.0),
            vehicles: vehicles.1,
        },
        repair_orders: pb::RepairOrdersSection {
            status: Some(repair_orders.0),
            repair_orders: repair_orders.1,
        },
        open_cases: pb::CasesSection {
            status: Some(open_cases.0),
            cases: open_cases.1,
        },
        pending_callbacks: pb::CallbacksSection {
            status: Some(pending_callbacks.0),
            callbacks: pending_callbacks.1,
        },
        surveys: pb::SurveysSection {
            status: Some(surveys.0),
            responses: surveys.1,
        },
    }
}

/// Runs one section's calls under the section deadline: its items and OK, or nothing and
/// why. Each backend call also carries the deadline (`grpc-timeout`), so a late service
/// stops working on it too.
async fn section<T>(
    ctx: &Ctx,
    work: impl Future<Output = Result<Vec<T>, Status>>,
) -> (pb::SectionStatus, Vec<T>) {
    let outcome = tokio::time::timeout(ctx.deadline, work)
        .await
        .unwrap_or_else(|_| {
            Err(Status::deadline_exceeded(format!(
                "no answer within the section's {} ms",
                ctx.deadline.as_millis()
            )))
        });
    match outcome {
        Ok(items) => (
            pb::SectionStatus {
                state: pb::SectionState::Ok.into(),
                code: 0,
                message: String::new(),
            },
            items,
        ),
        Err(status) => {
            let state = match status.code() {
                Code::PermissionDenied | Code::Unauthenticated => pb::SectionState::Denied,
                _ => pb::SectionState::Unavailable,
            };
            tracing::debug!(code = ?status.code(), "customer360 section not available");
            (
                pb::SectionStatus {
                    state: state.into(),
                    code: status.code() as i32,
                    message: status.message().to_owned(),
                },
                Vec::new(),
            )
        }
    }
}

/// The customer's vehicles, each with its open recalls and warranty (one GetVehicle per
/// car, all at once).
async fn vehicles_of(
    ctx: &Ctx,
    channels: &Channels,
    customer: &str,
) -> Result<Vec<pb::Vehicle360>, Status> {
    let mut client = VehicleServiceClient::new(channels.vehicles.clone());
    let owned = client
        .list_vehicles(ctx.request(vehicles::ListVehiclesRequest {
            owner: customer.to_owned(),
            page_size: MAX_VEHICLES,
            ..Default::default()
        }))
        .await?
        .into_inner()
        .vehicles;
    let mut details = tokio::task::JoinSet::new();
    for (i, vehicle) in owned.iter().enumerate() {
        let mut client = client.clone();
        let request = ctx.request(vehicles::GetVehicleRequest {
            name: vehicle.name.clone(),
            include_owner: false,
        });
        details.spawn(async move { (i, client.get_vehicle(request).await) });
    }
    let mut found: Vec<Option<vehicles::GetVehicleResponse>> = vec![None; owned.len()];
    while let Some(done) = details.join_next().await {
        let (i, answer) = done.map_err(|e| Status::internal(format!("vehicle read: {e}")))?;
        found[i] = Some(answer?.into_inner());
    }
    Ok(owned
        .into_iter()
        .zip(found)
        .map(|(vehicle, detail)| {
            let detail = detail.unwrap_or_default();
            pb::Vehicle360 {
                // The detailed read is the fresher one; the listed record stands in for it.
                vehicle: detail.vehicle.or(Some(vehicle)),
                open_recalls: detail.open_recalls,
                warranty: detail.warranty,
            }
        })
        .collect())
}

async fn repair_orders_of(
    ctx: &Ctx,
    channels: &Channels,
    customer: &str,
) -> Result<Vec<vehicles::RepairOrder>, Status> {
    let mut client = VehicleServiceClient::new(channels.vehicles.clone());
    Ok(client
        .list_repair_orders(ctx.request(vehicles::ListRepairOrdersRequest {
            customer: customer.to_owned(),
            page_size: ctx.recent,
            ..Default::default()
        }))
        .await?
        .into_inner()
        .repair_orders)
}

async fn open_cases_of(
    ctx: &Ctx,
    channels: &Channels,
    customer: &str,
) -> Result<Vec<callcenter::Case>, Status> {
    use callcenter::CaseStatus::*;
    let mut client = CallCenterServiceClient::new(channels.callcenter.clone());
    Ok(client
        .list_cases(
            ctx.request(callcenter::ListCasesRequest {
                customer: customer.to_owned(),
                statuses: [New, Assigned, InProgress, WaitingOnCustomer]
                    .map(i32::from)
                    .to_vec(),
                page_size: ctx.recent,
                ..Default::default()
            }),
        )
        .await?
        .into_inner()
        .cases)
}

async fn pending_callbacks_of(
    ctx: &Ctx,
    channels: &Channels,
    customer: &str,
) -> Result<Vec<callcenter::Callback>, Status> {
    use callcenter::CallbackStatus::*;
    let mut client = CallCenterServiceClient::new(channels.callcenter.clone());
    Ok(client
        .list_callbacks(ctx.request(callcenter::ListCallbacksRequest {
            customer: customer.to_owned(),
            statuses: [Pending, Claimed].map(i32::from).to_vec(),
            page_size: ctx.recent,
            ..Default::default()
        }))
        .await?
        .into_inner()
        .callbacks)
}

async fn surveys_of(
    ctx: &Ctx,
    channels: &Channels,
    customer: &str,
) -> Result<Vec<callcenter::SurveyResponse>, Status> {
    let mut client = CallCenterServiceClient::new(channels.callcenter.clone());
    Ok(client
        .list_survey_responses(ctx.request(callcenter::ListSurveyResponsesRequest {
            customer: customer.to_owned(),
            page_size: ctx.recent,
            ..Default::default()
        }))
        .await?
        .into_inner()
        .responses)
}

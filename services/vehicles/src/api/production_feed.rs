//! The factory's bulk production feed. Items are read ahead into batches of up to
//! `BATCH`: each item is checked on its own (a bad one is rejected alone), the valid ones
//! are written in one transaction with set-based statements, and the results go back in
//! the order the items came. A resent VIN with the same data is a DUPLICATE; with other
//! data it is rejected as a unary RegisterProduction would be.

use std::collections::{HashMap, HashSet};

use dealernet_kit::auth::{Principal, Role};
use dealernet_proto::vehicles::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use super::{feed::rejection, vehicle::produced_vehicle};
use crate::{
    Error, Service,
    domain::{
        lifecycle::{Action, transition},
        vehicle::Vehicle,
    },
    store,
};

/// Most items written in one transaction.
const BATCH: usize = 500;
/// Items read ahead of the writer.
const READ_AHEAD: usize = 2 * BATCH;

type Reply = std::result::Result<pb::StreamProductionResponse, Status>;

fn applied(
    item: &pb::StreamProductionRequest,
    outcome: pb::ItemOutcome,
) -> pb::StreamProductionResponse {
    pb::StreamProductionResponse {
        item_id: item.item_id.clone(),
        vin: item.vin.clone(),
        outcome: outcome as i32,
        reason: String::new(),
        message: String::new(),
    }
}

fn rejected(item: &pb::StreamProductionRequest, error: Error) -> pb::StreamProductionResponse {
    let (reason, message) = rejection(error);
    pb::StreamProductionResponse {
        item_id: item.item_id.clone(),
        vin: item.vin.clone(),
        outcome: pb::ItemOutcome::Rejected as i32,
        reason,
        message,
    }
}

/// Whether a stored vehicle is exactly what a resent item says.
fn same_production(stored: &Vehicle, sent: &Vehicle) -> bool {
    stored.model_code == sent.model_code
        && stored.plant == sent.plant
        && stored.line == sent.line
        && stored.engine_number == sent.engine_number
        && stored.colour == sent.colour
        // Stored at microsecond precision.
        && stored.built_at.timestamp_micros() == sent.built_at.timestamp_micros()
}

impl Service {
    pub(super) fn stream_production(
        &self,
        principal: Principal,
        mut inbound: Streaming<pb::StreamProductionRequest>,
    ) -> super::Result<ReceiverStream<Reply>> {
        if !(principal.has_role(Role::System) || principal.is_head_office()) {
            return Err(Error::PermissionDenied {
                reason: "PRODUCTION_NOT_ALLOWED",
                message: "production is registered by factory systems (role system) or HQ".into(),
            });
        }
        // A reader task keeps the inbound stream flowing while the writer commits.
        let (items_tx, mut items_rx) = mpsc::channel::<Result<_, Status>>(READ_AHEAD);
        tokio::spawn(async move {
            loop {
                let next = match inbound.message().await {
                    Ok(Some(item)) => Ok(item),
                    Ok(None) => break,
                    Err(status) => Err(status),
                };
                let failed = next.is_err();
                if items_tx.send(next).await.is_err() || failed {
                    break;
                }
            }
        });
        let (out_tx, out_rx) = mpsc::channel(READ_AHEAD);
        let service = self.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(first) = items_rx.recv().await {
                let mut failure = None;
                match first {
                    Ok(item) => batch.push(item),
                    Err(status) => failure = Some(status),
                }
                while failure.is_none() && batch.len() < BATCH {
                    match items_rx.try_recv() {
                        Ok(Ok(item)) => batch.push(item),
                        Ok(Err(status)) => failure = Some(status),
                        Err(_) => break,
                    }
                }
                let replies = service.production_batch(&principal, &batch).await;
                batch.clear();
                for reply in replies.into_iter().chain(failure.map(Err)) {
                    if out_tx.send(reply).await.is_err() {
                        return; // the client went away
                    }
                }
            }
        });
        Ok(ReceiverStream::new(out_rx))
    }

    /// One reply per item, in order. A database failure ends the stream with its status
    /// after the replies of the items before the batch.
    async fn production_batch(
        &self,
        principal: &Principal,
        items: &[pb::StreamProductionRequest],
    ) -> Vec<Reply> {
        let now = crate::now();
        let mut replies: Vec<Option<pb::StreamProductionResponse>> = vec![None; items.len()];
        // (item index, vehicle) of the items that passed the shape checks. A VIN repeated
        // within the batch is answered against the first occurrence.
        let mut valid: Vec<(usize, Vehicle)> = Vec::new();
        let mut repeats: Vec<(usize, Vehicle)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let request = pb::RegisterProductionRequest {
                vin: item.vin.clone(),
                model: item.model.clone(),
                plant: item.plant.clone(),
                line: item.line.clone(),
                built_at: item.built_at,
                engine_number: item.engine_number.clone(),
                colour: item.colour.clone(),
                request_id: String::new(),
            };
            match produced_vehicle(&request, now) {
                Ok(mut v) => {
                    v.state = transition(None, Action::RegisterProduction).unwrap_or(v.state);
                    if seen.insert(v.vin.to_string()) {
                        valid.push((i, v));
                    } else {
                        repeats.push((i, v));
                    }
                }
                Err(violations) => {
                    replies[i] = Some(rejected(item, Error::InvalidArgument(violations)))
                }
            }
        }
        if let Err(e) = self
            .write_productions(principal, items, &mut replies, valid, repeats)
            .await
        {
            tracing::warn!(error = %e, "production batch failed");
            return vec![Err(Status::from(e))];
        }
        replies
            .into_iter()
            .zip(items)
            .map(|(r, item)| {
                Ok(r.unwrap_or_else(|| {
                    rejected(
                        item,
                        Error::Unavailable("the item was not processed".into()),
                    )
                }))
            })
            .collect()
    }

    async fn write_productions(
        &self,
        principal: &Principal,
        items: &[pb::StreamProductionRequest],
        replies: &mut [Option<pb::StreamProductionResponse>],
        valid: Vec<(usize, Vehicle)>,
        repeats: Vec<(usize, Vehicle)>,
    ) -> super::Result<()> {
        let mut tx = self.pool.begin().await?;
        let models: Vec<String> = valid
            .iter()
            .map(|(_, v)| v.model_code.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let known = store::known_models(&mut tx, &models).await?;
        let (fresh, unknown): (Vec<_>, Vec<_>) = valid
            .into_iter()
            .chain(repeats)
            .partition(|(_, v)| known.contains(&v.model_code));
        for (i, _) in unknown {
            replies[i] = Some(rejected(
                &items[i],
                Error::ModelNotFound(items[i].model.clone()),
            ));
        }
        // First occurrences of a VIN come before its repeats: those are inserted, the
        // repeats (and resends of earlier batches) conflict.
        let mut firsts: Vec<Vehicle> = Vec::new();
        for (_, v) in &fresh {
            if !firsts.iter().any(|f| f.vin == v.vin) {
                firsts.push(v.clone());
            }
        }
        let inserted: HashSet<String> = store::production::insert_produced(
            &mut tx,
            &firsts,
            Action::RegisterProduction.as_str(),
            (principal.organization(), principal.subject()),
        )
        .await?
        .into_iter()
        .collect();
        let new: Vec<&Vehicle> = firsts
            .iter()
            .filter(|v| inserted.contains(v.vin.as_str()))
            .collect();
        if !new.is_empty() {
            let action = Action::RegisterProduction.as_str();
            let entries: Vec<_> = new
                .iter()
                .map(|v| {
                    let details = vec![
                        ("plant".to_owned(), v.plant.clone()),
                        ("line".to_owned(), v.line.clone()),
                        ("model".to_owned(), v.model_code.clone()),
                    ];
                    (*v, action, details)
                })
                .collect();
            crate::events::vehicles_changed(&mut tx, principal, &entries, crate::now()).await?;
            store::recall::add_built_many(
                &mut tx,
                &new.iter().map(|v| v.vin.to_string()).collect::<Vec<_>>(),
                &new.iter().map(|v| v.model_code.clone()).collect::<Vec<_>>(),
                &new.iter().map(|v| v.built_at).collect::<Vec<_>>(),
            )
            .await?;
        }
        let clashes: Vec<String> = firsts
            .iter()
            .filter(|v| !inserted.contains(v.vin.as_str()))
            .map(|v| v.vin.to_string())
            .collect();
        let stored: HashMap<String, Vehicle> = store::production::productions(&mut tx, &clashes)
            .await?
            .into_iter()
            .chain(new.iter().map(|v| (*v).clone()))
            .map(|v| (v.vin.to_string(), v))
            .collect();
        tx.commit().await?;
        let mut answered: HashSet<String> = HashSet::new();
        for (i, v) in &fresh {
            let vin = v.vin.to_string();
            let first_send = inserted.contains(&vin) && answered.insert(vin.clone());
            replies[*i] = Some(match stored.get(&vin) {
                _ if first_send => applied(&items[*i], pb::ItemOutcome::Applied),
                Some(s) if same_production(s, v) => applied(&items[*i], pb::ItemOutcome::Duplicate),
                _ => rejected(
                    &items[*i],
                    Error::Precondition {
                        reason: "VEHICLE_ALREADY_REGISTERED",
                        message: format!("{vin} is already registered with other data"),
                    },
                ),
            });
        }
        Ok(())
    }
}

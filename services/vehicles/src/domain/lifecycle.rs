//! The vehicle lifecycle as an action control: which action is allowed in which state,
//! what state it leads to, and the stable reason when it is refused.

use dealernet_kit::db_names;

/// Where a vehicle is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Produced,
    InTransit,
    InStock,
    Reserved,
    Sold,
    Delivered,
    Scrapped,
}

db_names!(State {
    Produced => "PRODUCED",
    InTransit => "IN_TRANSIT",
    InStock => "IN_STOCK",
    Reserved => "RESERVED",
    Sold => "SOLD",
    Delivered => "DELIVERED",
    Scrapped => "SCRAPPED",
});

/// A guarded lifecycle action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    RegisterProduction,
    DispatchShipment,
    RecordTransitEvent,
    ReceiveAtDealer,
    TransferStock,
    Reserve,
    ReleaseReservation,
    Sell,
    Deliver,
    TransferOwnership,
    Scrap,
}

db_names!(Action {
    RegisterProduction => "REGISTER_PRODUCTION",
    DispatchShipment => "DISPATCH_SHIPMENT",
    RecordTransitEvent => "RECORD_TRANSIT_EVENT",
    ReceiveAtDealer => "RECEIVE_AT_DEALER",
    TransferStock => "TRANSFER_STOCK",
    Reserve => "RESERVE",
    ReleaseReservation => "RELEASE_RESERVATION",
    Sell => "SELL",
    Deliver => "DELIVER",
    TransferOwnership => "TRANSFER_OWNERSHIP",
    Scrap => "SCRAP",
});

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::RegisterProduction,
        Action::DispatchShipment,
        Action::RecordTransitEvent,
        Action::ReceiveAtDealer,
        Action::TransferStock,
        Action::Reserve,
        Action::ReleaseReservation,
        Action::Sell,
        Action::Deliver,
        Action::TransferOwnership,
        Action::Scrap,
    ];
}

/// The state after `action` on a vehicle in `state` (`None`: no such vehicle yet), or the
/// stable reason it is refused.
pub fn transition(state: Option<State>, action: Action) -> Result<State, &'static str> {
    use Action as A;
    use State as S;
    let Some(state) = state else {
        return match action {
            A::RegisterProduction => Ok(S::Produced),
            _ => Err("VEHICLE_NOT_FOUND"),
        };
    };
    if state == S::Scrapped {
        return Err(if action == A::RegisterProduction {
            "VEHICLE_ALREADY_REGISTERED"
        } else {
            "VEHICLE_SCRAPPED"
        });
    }
    match (action, state) {
        (A::RegisterProduction, _) => Err("VEHICLE_ALREADY_REGISTERED"),
        (A::DispatchShipment, S::Produced) => Ok(S::InTransit),
        (A::DispatchShipment, S::InStock | S::Reserved) => Err("VEHICLE_AT_DEALER_USE_TRANSFER"),
        (A::DispatchShipment, _) => Err("VEHICLE_NOT_DISPATCHABLE"),
        (A::RecordTransitEvent, S::InTransit) => Ok(S::InTransit),
        (A::ReceiveAtDealer, S::InTransit) => Ok(S::InStock),
        (A::RecordTransitEvent | A::ReceiveAtDealer, _) => Err("VEHICLE_NOT_IN_TRANSIT"),
        (A::TransferStock, S::InStock) => Ok(S::InTransit),
        (A::TransferStock, S::Reserved) => Err("VEHICLE_RESERVED"),
        (A::Reserve, S::InStock) => Ok(S::Reserved),
        (A::Reserve, S::Reserved) => Err("VEHICLE_ALREADY_RESERVED"),
        (A::ReleaseReservation, S::Reserved) => Ok(S::InStock),
        (A::ReleaseReservation, _) => Err("VEHICLE_NOT_RESERVED"),
        (A::Sell, S::InStock | S::Reserved) => Ok(S::Sold),
        (A::Sell | A::Reserve | A::TransferStock, S::Sold | S::Delivered) => {
            Err("VEHICLE_ALREADY_SOLD")
        }
        (A::TransferStock | A::Reserve | A::Sell, _) => Err("VEHICLE_NOT_IN_STOCK"),
        (A::Deliver, S::Sold) => Ok(S::Delivered),
        (A::Deliver, S::Delivered) => Err("VEHICLE_ALREADY_DELIVERED"),
        (A::Deliver, _) => Err("VEHICLE_NOT_SOLD"),
        (A::TransferOwnership, S::Delivered) => Ok(S::Delivered),
        (A::TransferOwnership, _) => Err("VEHICLE_NOT_DELIVERED"),
        (A::Scrap, S::InTransit) => Err("VEHICLE_IN_TRANSIT"),
        (A::Scrap, _) => Ok(S::Scrapped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action × every state, written out: `Ok(next)` or the refusal reason.
    #[test]
    fn every_action_in_every_state() {
        use Action as A;
        use State as S;
        let states = [
            None,
            Some(S::Produced),
            Some(S::InTransit),
            Some(S::InStock),
            Some(S::Reserved),
            Some(S::Sold),
            Some(S::Delivered),
            Some(S::Scrapped),
        ];
        // Columns follow `states`.
        #[rustfmt::skip]
        let table: &[(Action, [Result<State, &str>; 8])] = &[
            (A::RegisterProduction, [Ok(S::Produced), Err("VEHICLE_ALREADY_REGISTERED"), Err("VEHICLE_ALREADY_REGISTERED"), Err("VEHICLE_ALREADY_REGISTERED"), Err("VEHICLE_ALREADY_REGISTERED"), Err("VEHICLE_ALREADY_REGISTERED"), Err("VEHICLE_ALREADY_REGISTERED"), Err("VEHICLE_ALREADY_REGISTERED")]),
            (A::DispatchShipment, [Err("VEHICLE_NOT_FOUND"), Ok(S::InTransit), Err("VEHICLE_NOT_DISPATCHABLE"), Err("VEHICLE_AT_DEALER_USE_TRANSFER"), Err("VEHICLE_AT_DEALER_USE_TRANSFER"), Err("VEHICLE_NOT_DISPATCHABLE"), Err("VEHICLE_NOT_DISPATCHABLE"), Err("VEHICLE_SCRAPPED")]),
            (A::RecordTransitEvent, [Err("VEHICLE_NOT_FOUND"), Err("VEHICLE_NOT_IN_TRANSIT"), Ok(S::InTransit), Err("VEHICLE_NOT_IN_TRANSIT"), Err("VEHICLE_NOT_IN_TRANSIT"), Err("VEHICLE_NOT_IN_TRANSIT"), Err("VEHICLE_NOT_IN_TRANSIT"), Err("VEHICLE_SCRAPPED")]),
            (A::ReceiveAtDealer, [Err("VEHICLE_NOT_FOUND"), Err("VEHICLE_NOT_IN_TRANSIT"), Ok(S::InStock), Err("VEHICLE_NOT_IN_TRANSIT"), Err("VEHICLE_NOT_IN_TRANSIT"), Err("VEHICLE_NOT_IN_TRANSIT"), Err("VEHICLE_NOT_IN_TRANSIT"), Err("VEHICLE_SCRAPPED")]),
            (A::TransferStock, [Err("VEHICLE_NOT_FOUND"), Err("VEHICLE_NOT_IN_STOCK"), Err("VEHICLE_NOT_IN_STOCK"), Ok(S::InTransit), Err("VEHICLE_RESERVED"), Err("VEHICLE_ALREADY_SOLD"), Err("VEHICLE_ALREADY_SOLD"), Err("VEHICLE_SCRAPPED")]),
            (A::Reserve, [Err("VEHICLE_NOT_FOUND"), Err("VEHICLE_NOT_IN_STOCK"), Err("VEHICLE_NOT_IN_STOCK"), Ok(S::Reserved), Err("VEHICLE_ALREADY_RESERVED"), Err("VEHICLE_ALREADY_SOLD"), Err("VEHICLE_ALREADY_SOLD"), Err("VEHICLE_SCRAPPED")]),
            (A::ReleaseReservation, [Err("VEHICLE_NOT_FOUND"), Err("VEHICLE_NOT_RESERVED"), Err("VEHICLE_NOT_RESERVED"), Err("VEHICLE_NOT_RESERVED"), Ok(S::InStock), Err("VEHICLE_NOT_RESERVED"), Err("VEHICLE_NOT_RESERVED"), Err("VEHICLE_SCRAPPED")]),
            (A::Sell, [Err("VEHICLE_NOT_FOUND"), Err("VEHICLE_NOT_IN_STOCK"), Err("VEHICLE_NOT_IN_STOCK"), Ok(S::Sold), Ok(S::Sold), Err("VEHICLE_ALREADY_SOLD"), Err("VEHICLE_ALREADY_SOLD"), Err("VEHICLE_SCRAPPED")]),
            (A::Deliver, [Err("VEHICLE_NOT_FOUND"), Err("VEHICLE_NOT_SOLD"), Err("VEHICLE_NOT_SOLD"), Err("VEHICLE_NOT_SOLD"), Err("VEHICLE_NOT_SOLD"), Ok(S::Delivered), Err("VEHICLE_ALREADY_DELIVERED"), Err("VEHICLE_SCRAPPED")]),
            (A::TransferOwnership, [Err("VEHICLE_NOT_FOUND"), Err("VEHICLE_NOT_DELIVERED"), Err("VEHICLE_NOT_DELIVERED"), Err("VEHICLE_NOT_DELIVERED"), Err("VEHICLE_NOT_DELIVERED"), Err("VEHICLE_NOT_DELIVERED"), Ok(S::Delivered), Err("VEHICLE_SCRAPPED")]),
            (A::Scrap, [Err("VEHICLE_NOT_FOUND"), Ok(S::Scrapped), Err("VEHICLE_IN_TRANSIT"), Ok(S::Scrapped), Ok(S::Scrapped), Ok(S::Scrapped), Ok(S::Scrapped), Err("VEHICLE_SCRAPPED")]),
        ];
        assert_eq!(table.len(), Action::ALL.len(), "every action has a row");
        for (action, row) in table {
            for (state, expected) in states.iter().zip(row) {
                assert_eq!(
                    transition(*state, *action),
                    *expected,
                    "{action:?} in {state:?}"
                );
            }
        }
    }
}

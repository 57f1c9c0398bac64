//! The pipeline count (`pipeline_count`: vehicles by state × model × outlet) is shifted
//! by the very statements that change what it counts, so no write path can miss it and a
//! refused action, rolled back, leaves it as it was. The outlet of a car is the one
//! holding it, else the destination of its open shipment, else none ('').

/// `store::vehicle::update` with the count's move.
pub(super) const UPDATE_VEHICLE: &str = include_str!("../../sql/pipeline_update_vehicle.sql");
/// `store::vehicle::add_to_shipment` with the count's move.
pub(super) const ADD_TO_SHIPMENT: &str = include_str!("../../sql/pipeline_add_to_shipment.sql");
/// `store::vehicle::mark_received` with the count's move.
pub(super) const MARK_RECEIVED: &str = include_str!("../../sql/pipeline_mark_received.sql");

/// Counts the rows of a preceding `inserted` CTE (new vehicles: `state, model_code,
/// holder_outlet`; a new car is on no shipment). Key order, as every shift takes locks.
pub(super) const COUNT_INSERTED: &str = "INSERT INTO pipeline_count (state, model_code, outlet_code, vehicles) \
     SELECT state, model_code, holder_outlet, count(*) FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
     ON CONFLICT (state, model_code, outlet_code) \
     DO UPDATE SET vehicles = pipeline_count.vehicles + excluded.vehicles";

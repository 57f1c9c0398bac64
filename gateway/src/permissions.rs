//! Which roles may call which method: the one table the gateway checks before forwarding.
//!
//! A principal may call a method when any of its roles is listed for it. The table is
//! coarse on purpose — per method, not per object: which outlet's stock, which customer's
//! record, is decided by the services (zero trust inside). A method missing here is
//! refused to everyone, and the tests fail for any method of the descriptor set without
//! an entry, so a new RPC cannot ship unnoticed. README's table is generated from this one
//! (`UPDATE_README=1 cargo test -p dealernet-gateway permissions`).

use dealernet_kit::auth::Role;

use Role::{Agent, Carrier, Dealer, Factory, Hq, Station, Steward, System};

/// Head office's managers: the catalogue, prices, recalls, outlets, API keys.
const HQ: &[Role] = &[Hq];
/// Head office including its data stewards (registry quality: merges, erasure).
const HEAD_OFFICE: &[Role] = &[Hq, Steward];
/// Every person or platform system; factory and carrier systems are not among them.
const EVERYONE: &[Role] = &[Hq, Steward, Agent, Dealer, Station, System];
/// Reference data (catalogue, VIN decoding) that every client may read.
const REFERENCE: &[Role] = &[
    Hq, Steward, Agent, Dealer, Station, System, Factory, Carrier,
];
const HOTLINE: &[Role] = &[Hq, Agent, System];
/// Head office, the hotline and platform systems: the registry-wide views.
const CENTRAL: &[Role] = &[Hq, Steward, Agent, System];
/// The hotline plus the outlets a case, callback or survey result concerns.
const HOTLINE_AND_OUTLETS: &[Role] = &[Hq, Agent, System, Dealer, Station];
const SALES: &[Role] = &[Hq, System, Dealer];
const WORKSHOP: &[Role] = &[Hq, System, Station];
const OUTLETS_AND_HQ: &[Role] = &[Hq, Dealer, Station];
const PRODUCTION: &[Role] = &[Hq, System, Factory];
const TRANSIT: &[Role] = &[Hq, System, Carrier];
/// Who manages event consumers (acknowledgements, parked events): head office and systems.
const EVENT_OPERATORS: &[Role] = &[Hq, Steward, System];
/// HQ insights across every outlet: head office and its platform systems.
const INSIGHTS: &[Role] = &[Hq, Steward, System];
/// Event streams with outlet-scoped events: outlets read those about themselves.
const EVENT_READERS: &[Role] = &[Hq, Steward, System, Dealer, Station];

const CUSTOMERS: &str = "dealernet.customers.v1.CustomerService";
const VEHICLES: &str = "dealernet.vehicles.v1.VehicleService";
const DEALERS: &str = "dealernet.dealers.v1.DealerService";
const CALLCENTER: &str = "dealernet.callcenter.v1.CallCenterService";
const GATEWAY: &str = "dealernet.gateway.v1.GatewayService";

/// (service, method, roles allowed).
pub const TABLE: &[(&str, &str, &[Role])] = &[
    (CUSTOMERS, "CreateCustomer", EVERYONE),
    (CUSTOMERS, "GetCustomer", EVERYONE),
    (CUSTOMERS, "UpdateCustomer", EVERYONE),
    (CUSTOMERS, "ListCustomers", EVERYONE),
    (CUSTOMERS, "ResolveCustomer", EVERYONE),
    (CUSTOMERS, "FindDuplicates", EVERYONE),
    (CUSTOMERS, "ScanDuplicates", HEAD_OFFICE),
    (CUSTOMERS, "MergeCustomers", HEAD_OFFICE),
    (CUSTOMERS, "UnmergeCustomer", HEAD_OFFICE),
    (CUSTOMERS, "EraseCustomer", HEAD_OFFICE),
    (CUSTOMERS, "CreateRelationship", EVERYONE),
    (CUSTOMERS, "ListRelationships", EVERYONE),
    (CUSTOMERS, "DeleteRelationship", EVERYONE),
    (CUSTOMERS, "LinkCustomer", EVERYONE),
    (CUSTOMERS, "ListAccessLog", &[Hq, Steward, Dealer, Station]),
    (CUSTOMERS, "SetConsent", EVERYONE),
    (CUSTOMERS, "ListConsents", EVERYONE),
    (CUSTOMERS, "CheckContactPermission", EVERYONE),
    (CUSTOMERS, "StreamEvents", EVENT_OPERATORS),
    (CUSTOMERS, "AckEvents", EVENT_OPERATORS),
    (CUSTOMERS, "ListParkedEvents", EVENT_OPERATORS),
    (CUSTOMERS, "RetryParkedEvent", EVENT_OPERATORS),
    // Other platform services log their reads of personal data they keep.
    (CUSTOMERS, "RecordAccess", &[System]),
    (CUSTOMERS, "GetCustomerValue", EVERYONE),
    (CUSTOMERS, "ListSegmentMembers", EVERYONE),
    (CUSTOMERS, "GetSegmentSummary", CENTRAL),
    (VEHICLES, "CreateModel", HQ),
    (VEHICLES, "GetModel", REFERENCE),
    (VEHICLES, "ListModels", REFERENCE),
    (VEHICLES, "CreateModelPrice", HQ),
    (VEHICLES, "ListModelPrices", EVERYONE),
    (VEHICLES, "DecodeVin", REFERENCE),
    (VEHICLES, "RegisterProduction", PRODUCTION),
    (VEHICLES, "StreamProduction", PRODUCTION),
    (VEHICLES, "DispatchShipment", PRODUCTION),
    (VEHICLES, "StreamTransitEvents", TRANSIT),
    (VEHICLES, "RecordTransitEvent", TRANSIT),
    (VEHICLES, "ReceiveAtDealer", SALES),
    (VEHICLES, "TransferStock", SALES),
    (VEHICLES, "ReserveVehicle", SALES),
    (VEHICLES, "ReleaseReservation", SALES),
    (VEHICLES, "SellVehicle", SALES),
    (VEHICLES, "DeliverVehicle", SALES),
    (VEHICLES, "TransferOwnership", SALES),
    (VEHICLES, "ScrapVehicle", &[Hq, System]),
    (VEHICLES, "OverrideState", HQ),
    (
        VEHICLES,
        "RecordOdometerReading",
        &[Hq, System, Dealer, Station],
    ),
    (VEHICLES, "CheckWarranty", EVERYONE),
    (VEHICLES, "GetVehicle", EVERYONE),
    (VEHICLES, "GetVehicleTimeline", EVERYONE),
    (VEHICLES, "ListVehicles", EVERYONE),
    (VEHICLES, "CountVehicles", EVERYONE),
    (VEHICLES, "OpenRepairOrder", WORKSHOP),
    (VEHICLES, "AddRepairOrderLine", WORKSHOP),
    (VEHICLES, "RemoveRepairOrderLine", WORKSHOP),
    (VEHICLES, "SetRepairOrderStatus", WORKSHOP),
    (VEHICLES, "GetRepairOrder", EVERYONE),
    (VEHICLES, "ListRepairOrders", EVERYONE),
    (VEHICLES, "CreateRecallCampaign", HQ),
    (VEHICLES, "GetRecallCampaign", EVERYONE),
    (VEHICLES, "ListRecallCampaigns", EVERYONE),
    (VEHICLES, "CloseRecallCampaign", HQ),
    (VEHICLES, "ListAffectedVehicles", EVERYONE),
    (VEHICLES, "ListOpenRecalls", EVERYONE),
    (VEHICLES, "GetRecallProgress", EVERYONE),
    (VEHICLES, "GetVehiclePipeline", INSIGHTS),
    (VEHICLES, "ListOverdueTransits", INSIGHTS),
    (VEHICLES, "RankFailingParts", INSIGHTS),
    (VEHICLES, "StreamEvents", EVENT_READERS),
    (VEHICLES, "AckEvents", EVENT_OPERATORS),
    (VEHICLES, "ListParkedEvents", EVENT_OPERATORS),
    (VEHICLES, "RetryParkedEvent", EVENT_OPERATORS),
    (DEALERS, "CreateDealerGroup", HQ),
    (DEALERS, "GetDealerGroup", EVERYONE),
    (DEALERS, "ListDealerGroups", EVERYONE),
    (DEALERS, "CreateOutlet", HQ),
    (DEALERS, "GetOutlet", REFERENCE),
    (DEALERS, "UpdateOutlet", OUTLETS_AND_HQ),
    (DEALERS, "ListOutlets", REFERENCE),
    (DEALERS, "SuspendOutlet", HQ),
    (DEALERS, "ReactivateOutlet", HQ),
    (DEALERS, "CloseOutlet", HQ),
    (DEALERS, "CheckOutletPermission", EVERYONE),
    (DEALERS, "LocateOutlets", EVERYONE),
    (DEALERS, "CreateStaffMember", OUTLETS_AND_HQ),
    (DEALERS, "GetStaffMember", EVERYONE),
    (DEALERS, "UpdateStaffMember", OUTLETS_AND_HQ),
    (DEALERS, "ListStaffMembers", EVERYONE),
    (DEALERS, "CreateLead", HOTLINE),
    (DEALERS, "GetLead", HOTLINE_AND_OUTLETS),
    (DEALERS, "ListLeads", HOTLINE_AND_OUTLETS),
    (DEALERS, "AdvanceLead", HOTLINE_AND_OUTLETS),
    (DEALERS, "ReassignLead", &[Hq, Agent]),
    (DEALERS, "GetOutletScorecard", &[Hq, Agent, Dealer, Station]),
    (
        DEALERS,
        "ListOutletScorecards",
        &[Hq, Agent, Dealer, Station],
    ),
    (DEALERS, "RankOutletScorecards", HQ),
    (DEALERS, "ListParkedEvents", EVENT_OPERATORS),
    (DEALERS, "RetryParkedEvent", EVENT_OPERATORS),
    (CALLCENTER, "IdentifyCaller", HOTLINE),
    (CALLCENTER, "LogInteraction", HOTLINE),
    (CALLCENTER, "ListInteractions", HOTLINE),
    (CALLCENTER, "OpenCase", HOTLINE),
    (CALLCENTER, "GetCase", HOTLINE_AND_OUTLETS),
    (CALLCENTER, "UpdateCase", HOTLINE),
    (CALLCENTER, "TransitionCase", HOTLINE),
    (CALLCENTER, "AddCaseNote", HOTLINE_AND_OUTLETS),
    (CALLCENTER, "ListCases", HOTLINE_AND_OUTLETS),
    (CALLCENTER, "SetSlaPolicy", HQ),
    (CALLCENTER, "ListSlaPolicies", &[Hq, Agent]),
    (CALLCENTER, "AddHotlineHoliday", HQ),
    (CALLCENTER, "ListHotlineHolidays", &[Hq, Agent]),
    (CALLCENTER, "SweepSla", &[Hq, System]),
    (CALLCENTER, "ScheduleCallback", HOTLINE),
    (CALLCENTER, "ClaimNextCallback", HOTLINE),
    (CALLCENTER, "RecordCallAttempt", HOTLINE),
    (CALLCENTER, "CancelCallback", HOTLINE),
    (CALLCENTER, "GetCallback", HOTLINE),
    (CALLCENTER, "ListCallbacks", HOTLINE),
    (CALLCENTER, "AddDoNotCall", &[Hq, Agent]),
    (CALLCENTER, "SubmitSurveyResponse", &[Hq, Agent]),
    (
        CALLCENTER,
        "ListSurveyResponses",
        &[Hq, Agent, Dealer, Station],
    ),
    (
        CALLCENTER,
        "GetSurveyResults",
        &[Hq, Agent, Dealer, Station],
    ),
    (CALLCENTER, "CountComplaints", HEAD_OFFICE),
    (CALLCENTER, "GetComplaintTrends", HEAD_OFFICE),
    (CALLCENTER, "StreamEvents", EVENT_READERS),
    (CALLCENTER, "AckEvents", EVENT_OPERATORS),
    (CALLCENTER, "ListParkedEvents", EVENT_OPERATORS),
    (CALLCENTER, "RetryParkedEvent", EVENT_OPERATORS),
    (GATEWAY, "CreateApiKey", HQ),
    (GATEWAY, "GetApiKey", HQ),
    (GATEWAY, "ListApiKeys", HQ),
    (GATEWAY, "RevokeApiKey", HQ),
    (GATEWAY, "GetCustomer360", HOTLINE),
];

/// The roles allowed to call `method` (`package.Service/Method`); `None`: not in the table.
pub fn allowed_roles(method: &str) -> Option<&'static [Role]> {
    let (service, name) = method.split_once('/')?;
    TABLE
        .iter()
        .find(|(s, m, _)| *s == service && *m == name)
        .map(|(_, _, roles)| *roles)
}

/// Whether a caller holding `roles` may call `method`.
pub fn permits(method: &str, roles: &[Role]) -> bool {
    allowed_roles(method).is_some_and(|allowed| roles.iter().any(|r| allowed.contains(r)))
}

/// The table as README shows it: one row per method, one column per role.
pub fn markdown_table() -> String {
    let mut out = String::from("| method |");
    for role in Role::ALL {
        out.push_str(&format!(" {} |", role.name()));
    }
    out.push_str("\n|---|");
    out.push_str(&":-:|".repeat(Role::ALL.len()));
    out.push('\n');
    for (service, method, roles) in TABLE {
        let short = service.rsplit('.').next().unwrap_or(service);
        out.push_str(&format!("| `{short}/{method}` |"));
        for role in Role::ALL {
            out.push_str(if roles.contains(role) { " ✓ |" } else { " |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::catalogue::Catalogue;

    #[test]
    fn every_method_has_exactly_one_entry_and_every_entry_a_method() {
        let catalogue = Catalogue::platform();
        let reflected: HashSet<String> =
            catalogue.methods().iter().map(|m| m.name.clone()).collect();
        let mut listed = HashSet::new();
        for (service, method, roles) in TABLE {
            let name = format!("{service}/{method}");
            assert!(reflected.contains(&name), "{name}: no such method");
            assert!(listed.insert(name.clone()), "{name}: listed twice");
            assert!(!roles.is_empty(), "{name}: nobody may call it");
        }
        let missing: Vec<_> = reflected.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "methods without a permission entry: {missing:?}"
        );
    }

    #[test]
    fn the_issue_s_examples_hold() {
        let m = |name: &str| format!("{VEHICLES}/{name}");
        assert!(!permits(&m("SellVehicle"), &[Station]));
        assert!(permits(&m("SellVehicle"), &[Dealer]));
        assert!(!permits(&m("OverrideState"), &[Dealer]));
        assert!(!permits(&format!("{CUSTOMERS}/EraseCustomer"), &[Dealer]));
        assert!(permits(&m("RecordTransitEvent"), &[Carrier]));
        assert!(!permits(&m("SellVehicle"), &[Carrier]));
        assert!(!permits(&format!("{CUSTOMERS}/GetCustomer"), &[Carrier]));
        for role in Role::ALL.iter().filter(|r| **r != Hq) {
            assert!(!permits(&format!("{GATEWAY}/CreateApiKey"), &[*role]));
        }
        assert!(
            permits(&m("SellVehicle"), &[Station, Dealer]),
            "any role suffices"
        );
        assert!(!permits("dealernet.vehicles.v1.VehicleService/Nope", &[Hq]));
    }

    /// README's table is this table; `UPDATE_README=1` rewrites it.
    #[test]
    fn readme_shows_this_table() {
        const BEGIN: &str =
            "<!-- permissions:begin (generated from gateway/src/permissions.rs) -->\n";
        const END: &str = "<!-- permissions:end -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
            panic!("README.md lacks the permission table markers {BEGIN:?} … {END:?}");
        };
        let current = &readme[start + BEGIN.len()..end];
        let wanted = markdown_table();
        if current != wanted {
            if std::env::var_os("UPDATE_README").is_some() {
                let updated = format!(
                    "{}{wanted}{}",
                    &readme[..start + BEGIN.len()],
                    &readme[end..]
                );
                std::fs::write(path, updated).expect("write README.md");
            } else {
                panic!(
                    "README.md's permission table is out of date: run UPDATE_README=1 cargo test -p dealernet-gateway permissions"
                );
            }
        }
    }
}

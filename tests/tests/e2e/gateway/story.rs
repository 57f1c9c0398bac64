//! The story of issue 11, through the gateway only, each step with the credential of
//! whoever does it in real life: machine clients with API keys, people with JWTs.

use dealernet_kit::{auth::Role, clock::ManualClock};
use dealernet_proto::{
    callcenter::v1 as hpb, customers::v1 as cpb,
    customers::v1::customer_service_client::CustomerServiceClient, gateway::v1 as gpb,
    vehicles::v1 as vpb, vehicles::v1::vehicle_service_client::VehicleServiceClient,
};
use dealernet_tests::{Bearer, TestPlatform};
use tonic::Code;

use super::apikeys::issue;
use crate::{
    assert_refused,
    repair::{add, labour, open, part, set_status},
    sale::{later, sell},
    test_vin,
};

const PHONE: &str = "13912345678";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_the_factory_to_the_follow_up_call_through_the_gateway_only() {
    use vpb::RepairOrderStatus as S;
    // A Wednesday morning on the hotline's calendar, so the follow-up call is due at once.
    let clock = ManualClock::new(crate::dealers::sh("2026-11-18 10:00"));
    let platform = TestPlatform::spawn_gateway_at(&clock).await;
    crate::network(&platform).await;
    crate::sale::priced_model(&platform).await;
    let (_, factory_key) = issue(&platform, "PLANT-SH", &["factory"], None).await;
    let (_, carrier_key) = issue(&platform, "CN-LOG-1", &["carrier"], None).await;
    let (_, pos_key) = issue(&platform, "D1001", &["dealer"], None).await;

    // The factory registers three cars and ships them to outlet A (D1001).
    let mut factory =
        VehicleServiceClient::with_interceptor(platform.channel(), Bearer::api_key(&factory_key));
    let vins: Vec<String> = (0..3).map(|i| test_vin(900 + i)).collect();
    for vin in &vins {
        factory
            .register_production(vpb::RegisterProductionRequest {
                vin: vin.clone(),
                model: "models/DA7-2026".into(),
                plant: "CN-SH-01".into(),
                line: "L2".into(),
                built_at: Some(prost_types::Timestamp {
                    seconds: 1_790_000_000,
                    nanos: 0,
                }),
                engine_number: format!("EM-{vin}"),
                colour: "White".into(),
                request_id: format!("build-{vin}"),
            })
            .await
            .expect("the factory registers a car");
    }
    factory
        .dispatch_shipment(vpb::DispatchShipmentRequest {
            vins: vins.clone(),
            carrier: "CN-LOG-1".into(),
            origin: "CN-SH-01".into(),
            destination_outlet: "D1001".into(),
            eta: later(3),
            request_id: "ship-1".into(),
        })
        .await
        .expect("the factory ships them");
    // The carrier reports transit, and may do nothing else.
    let mut carrier =
        VehicleServiceClient::with_interceptor(platform.channel(), Bearer::api_key(&carrier_key));
    for vin in &vins {
        carrier
            .record_transit_event(vpb::RecordTransitEventRequest {
                vehicle: format!("vehicles/{vin}"),
                position: "杭州中转站".into(),
                time: later(0),
                status: "arrived at depot".into(),
                request_id: format!("transit-{vin}"),
            })
            .await
            .expect("the carrier reports transit");
    }
    assert_refused(
        carrier
            .sell_vehicle(sell(&format!("vehicles/{}", vins[0]), "customers/x", 1))
            .await,
        Code::PermissionDenied,
        "METHOD_NOT_ALLOWED",
    );
    // A receives them.
    let mut outlet_a = platform.vehicles("D1001", Role::Dealer);
    for vin in &vins {
        outlet_a
            .receive_at_dealer(vpb::ReceiveAtDealerRequest {
                vehicle: format!("vehicles/{vin}"),
                outlet: "D1001".into(),
                request_id: format!("receive-{vin}"),
            })
            .await
            .expect("A receives the car");
    }

    // A new customer calls the hotline: not found; the agent creates her and opens a
    // sales lead, routed to A.
    let mut desk = platform.callcenter("CALLCENTER", Role::Agent);
    let caller = desk
        .identify_caller(hpb::IdentifyCallerRequest {
            phone: PHONE.into(),
        })
        .await
        .expect("identify")
        .into_inner();
    assert!(caller.matches.is_empty(), "{caller:?}");
    let agent_registry = platform.customers("CALLCENTER", Role::Agent);
    let her = agent_registry
        .clone()
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(cpb::Customer {
                source_channel: cpb::SourceChannel::Hotline as i32,
                ..crate::person("陈", "静", PHONE)
            }),
            request_id: "hotline-new-customer".into(),
        })
        .await
        .expect("the agent creates her")
        .into_inner()
        .customer
        .expect("customer");
    agent_registry
        .clone()
        .set_consent(cpb::SetConsentRequest {
            parent: her.name.clone(),
            consent: Some(cpb::Consent {
                channel: cpb::ContactChannel::Phone as i32,
                purpose: cpb::ConsentPurpose::Surveys as i32,
                status: cpb::ConsentStatus::Granted as i32,
                capture_source: cpb::SourceChannel::Hotline as i32,
                ..Default::default()
            }),
            request_id: "consent-surveys".into(),
        })
        .await
        .expect("she agrees to surveys");
    let case = desk
        .open_case(hpb::OpenCaseRequest {
            case: Some(hpb::Case {
                r#type: hpb::CaseType::SalesLead as i32,
                priority: hpb::Priority::Normal as i32,
                customer: her.name.clone(),
                subject: "Wants to buy a DA7".into(),
                model: "models/DA7-2026".into(),
                ..Default::default()
            }),
            lead_interest: "BUY".into(),
            preferred_outlet: "D1001".into(),
            request_id: "lead-case".into(),
            ..Default::default()
        })
        .await
        .expect("the sales lead")
        .into_inner()
        .case
        .expect("case");
    assert_eq!(case.outlet, "D1001");
    assert!(case.lead.starts_with("leads/"), "{case:?}");

    // A's POS resolves her by phone: the same customer, no duplicate.
    let resolved =
        CustomerServiceClient::with_interceptor(platform.channel(), Bearer::api_key(&pos_key))
            .resolve_customer(cpb::ResolveCustomerRequest {
                customer: Some(crate::person("陈", "静", PHONE)),
                request_id: "pos-resolve".into(),
            })
            .await
            .expect("resolve")
            .into_inner();
    assert!(!resolved.created);
    assert_eq!(resolved.customer.expect("customer").name, her.name);
    assert_eq!(platform.count("customer").await, 1);

    // A sells her a car and delivers it.
    let car = format!("vehicles/{}", vins[0]);
    outlet_a
        .sell_vehicle(sell(&car, &her.name, 199_800))
        .await
        .expect("A sells her the car");
    outlet_a
        .deliver_vehicle(vpb::DeliverVehicleRequest {
            vehicle: car.clone(),
            odometer_km: 12,
            request_id: "deliver".into(),
        })
        .await
        .expect("delivered");
    // Outlet B cannot sell A's car and sees her masked.
    assert_refused(
        platform
            .vehicles("D1002", Role::Dealer)
            .sell_vehicle(sell(&format!("vehicles/{}", vins[1]), &her.name, 190_000))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    let seen_by_b = platform
        .customers("D1002", Role::Dealer)
        .get_customer(cpb::GetCustomerRequest {
            name: her.name.clone(),
        })
        .await
        .expect("B reads her by id")
        .into_inner()
        .customer
        .expect("customer");
    assert!(seen_by_b.masked, "{seen_by_b:?}");

    // Station C repairs it under warranty and closes the order.
    let mut station = platform.vehicles("S3001", Role::Station);
    let order = station
        .open_repair_order(open(&car, "S3001", 3_000))
        .await
        .expect("C opens a repair order")
        .into_inner()
        .repair_order
        .expect("order");
    add(
        &mut station,
        &order.name,
        labour("OP-BRG-01", 1.5, vpb::PayType::Warranty),
    )
    .await
    .expect("warranty labour");
    add(
        &mut station,
        &order.name,
        part("BRG-6203", "B2026-07", 1, 150, vpb::PayType::Warranty),
    )
    .await
    .expect("a warranty part");
    for (status, diagnosis) in [
        (S::InProgress, ""),
        (S::Completed, "Worn wheel bearing replaced"),
        (S::Closed, ""),
    ] {
        set_status(&mut station, &order.name, status, diagnosis)
            .await
            .expect("the order moves on");
    }

    // The follow-up survey call is claimed and answered.
    let mut survey = None;
    for _ in 0..100 {
        survey = desk
            .claim_next_callback(hpb::ClaimNextCallbackRequest { lease_seconds: 60 })
            .await
            .expect("claim")
            .into_inner()
            .callback;
        if survey.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let survey = survey.expect("the follow-up call is in the queue");
    assert_eq!(
        (
            survey.purpose,
            survey.repair_order.as_str(),
            survey.customer.as_str()
        ),
        (
            hpb::CallbackPurpose::Survey as i32,
            order.name.as_str(),
            her.name.as_str()
        )
    );
    desk.record_call_attempt(hpb::RecordCallAttemptRequest {
        name: survey.name.clone(),
        outcome: hpb::CallOutcome::Answered as i32,
        notes: "Happy with the repair".into(),
        request_id: "survey-call".into(),
    })
    .await
    .expect("answered");
    let response = desk
        .submit_survey_response(hpb::SubmitSurveyResponseRequest {
            response: Some(hpb::SurveyResponse {
                repair_order: order.name.clone(),
                customer: her.name.clone(),
                // A repair order's outlet is named by the caller (only a case's is looked up).
                outlet: "S3001".into(),
                technician: "T-042".into(),
                satisfaction: 5,
                nps: 10,
                ..Default::default()
            }),
            request_id: "survey-answer".into(),
        })
        .await
        .expect("her answers")
        .into_inner()
        .response
        .expect("response");
    assert_eq!(response.outlet, "S3001", "the station is rated");

    // Customer360 by her phone shows the car, the repair, the case and the survey.
    let screen = platform
        .gateway("CALLCENTER", Role::Agent)
        .get_customer360(gpb::GetCustomer360Request {
            key: Some(gpb::get_customer360_request::Key::Phone(PHONE.into())),
            recent: 0,
        })
        .await
        .expect("Customer360 by phone")
        .into_inner();
    assert_eq!(
        screen.customer.as_ref().map(|c| c.name.as_str()),
        Some(her.name.as_str())
    );
    let cars = screen.vehicles.expect("vehicles").vehicles;
    assert_eq!(
        cars.iter()
            .filter_map(|v| v.vehicle.as_ref().map(|v| v.name.as_str()))
            .collect::<Vec<_>>(),
        [car.as_str()]
    );
    let repairs = screen.repair_orders.expect("repairs").repair_orders;
    assert_eq!(
        repairs.first().map(|r| r.name.as_str()),
        Some(order.name.as_str())
    );
    let cases = screen.open_cases.expect("cases").cases;
    assert!(cases.iter().any(|c| c.name == case.name), "{cases:?}");
    let surveys = screen.surveys.expect("surveys").responses;
    assert_eq!(
        surveys
            .iter()
            .map(|s| (s.name.as_str(), s.satisfaction))
            .collect::<Vec<_>>(),
        [(response.name.as_str(), 5)]
    );

    // HQ reads the car's whole timeline.
    let timeline = platform
        .vehicles("HQ", Role::Hq)
        .get_vehicle_timeline(vpb::GetVehicleTimelineRequest {
            vehicle: car.clone(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("HQ reads the timeline")
        .into_inner()
        .events;
    let actors: Vec<(String, String)> = timeline
        .iter()
        .map(|e| (e.action.clone(), e.actor_organization.clone()))
        .collect();
    for (action, org) in [
        ("REGISTER_PRODUCTION", "PLANT-SH"),
        ("DISPATCH_SHIPMENT", "PLANT-SH"),
        ("RECORD_TRANSIT_EVENT", "CN-LOG-1"),
        ("RECEIVE_AT_DEALER", "D1001"),
        ("SELL", "D1001"),
        ("DELIVER", "D1001"),
    ] {
        assert!(
            actors.iter().any(|(a, o)| a == action && o == org),
            "{action} by {org} in {actors:?}"
        );
    }
    assert!(
        actors.iter().any(|(_, o)| o == "S3001"),
        "the repair is on the timeline: {actors:?}"
    );
}

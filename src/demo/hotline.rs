//! Demo hotline data: the hotline's public holidays, and a morning's cases — questions, a
//! complaint about a dealer, a test-drive lead and a service request routed into the
//! dealer network — with a callback the customer asked for, and the survey answers of the
//! workshop's closed repair orders.

use anyhow::Context;
use dealernet_kit::auth::Role;
use dealernet_proto::{
    callcenter::v1::{self as pb, call_center_service_client::CallCenterServiceClient},
    types::v1 as types,
    vehicles::v1 as vpb,
};

use super::{Actors, vehicles::demo_customers};

/// China's public holidays of 2026 and early 2027 that close the hotline's calendar.
const HOLIDAYS: [(i32, i32, i32, &str); 9] = [
    (2026, 10, 1, "National Day"),
    (2026, 10, 2, "National Day"),
    (2026, 10, 5, "National Day"),
    (2026, 10, 6, "National Day"),
    (2026, 10, 7, "National Day"),
    (2027, 1, 1, "New Year's Day"),
    (2027, 2, 5, "Spring Festival"),
    (2027, 2, 8, "Spring Festival"),
    (2027, 2, 9, "Spring Festival"),
];

/// Loads the demo unless the hotline already has cases; returns how many cases it opened.
pub async fn load(actors: &Actors) -> anyhow::Result<u32> {
    let mut client = CallCenterServiceClient::new(actors.channel.clone());
    let existing = client
        .list_cases(actors.request(
            "CALLCENTER",
            Role::Agent,
            pb::ListCasesRequest {
                page_size: 1,
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    if !existing.cases.is_empty() {
        return Ok(0);
    }
    for (year, month, day, name) in HOLIDAYS {
        client
            .add_hotline_holiday(actors.request(
                "HQ",
                Role::Hq,
                pb::AddHotlineHolidayRequest {
                    day: Some(types::Date { year, month, day }),
                    name: name.into(),
                },
            )?)
            .await?;
    }
    let customers = demo_customers(actors).await?;
    let customer = |i: usize| customers.get(i).cloned().context("demo customers");
    let case = |t: pb::CaseType, p: pb::Priority, who: String, subject: &str| pb::Case {
        r#type: t as i32,
        priority: p as i32,
        customer: who,
        subject: subject.into(),
        ..Default::default()
    };
    let cases = [
        pb::OpenCaseRequest {
            case: Some(case(
                pb::CaseType::Inquiry,
                pb::Priority::Normal,
                customer(0)?,
                "How often does the DA7 need servicing?",
            )),
            ..Default::default()
        },
        pb::OpenCaseRequest {
            case: Some(pb::Case {
                outlet: "D1001".into(),
                category: "SERVICE".into(),
                model: "models/DA7-2026".into(),
                description: "Waited two hours at delivery; the car was not cleaned".into(),
                ..case(
                    pb::CaseType::Complaint,
                    pb::Priority::High,
                    customer(1)?,
                    "Unhappy with the delivery at D1001",
                )
            }),
            ..Default::default()
        },
        pb::OpenCaseRequest {
            case: Some(pb::Case {
                model: "models/DA5-2026".into(),
                ..case(
                    pb::CaseType::SalesLead,
                    pb::Priority::Normal,
                    customer(2)?,
                    "Wants a test drive of the DA5",
                )
            }),
            lead_interest: "TEST_DRIVE".into(),
            preferred_outlet: "D1001".into(),
            ..Default::default()
        },
        pb::OpenCaseRequest {
            case: Some(case(
                pb::CaseType::ServiceRequest,
                pb::Priority::Normal,
                customer(3)?,
                "Brake noise when cold",
            )),
            preferred_outlet: "S3001".into(),
            ..Default::default()
        },
    ];
    let mut opened = 0;
    for (i, request) in cases.into_iter().enumerate() {
        let case = client
            .open_case(actors.request(
                "CALLCENTER",
                Role::Agent,
                pb::OpenCaseRequest {
                    request_id: format!("demo-case-{i}"),
                    ..request
                },
            )?)
            .await?
            .into_inner()
            .case
            .context("opened case")?;
        opened += 1;
        if i == 0 {
            client
                .transition_case(actors.request(
                    "CALLCENTER",
                    Role::Agent,
                    pb::TransitionCaseRequest {
                        name: case.name.clone(),
                        status: pb::CaseStatus::Assigned as i32,
                        ..Default::default()
                    },
                )?)
                .await?;
        }
    }
    client
        .schedule_callback(actors.request(
            "CALLCENTER",
            Role::Agent,
            pb::ScheduleCallbackRequest {
                callback: Some(pb::Callback {
                    customer: customer(4)?,
                    reason: "Asked to be called back about the trade-in value of his car".into(),
                    purpose: pb::CallbackPurpose::CustomerRequest as i32,
                    ..Default::default()
                }),
                request_id: "demo-callback".into(),
            },
        )?)
        .await?;
    surveys(actors, &mut client).await?;
    Ok(opened)
}

/// The follow-up calls' answers: each closed demo repair order's customer rates the
/// workshop and its technician (the scores feed customer value and the scorecards).
async fn surveys(
    actors: &Actors,
    client: &mut CallCenterServiceClient<tonic::transport::Channel>,
) -> anyhow::Result<()> {
    let orders = actors
        .vehicles()
        .list_repair_orders(actors.request(
            "HQ",
            Role::Hq,
            vpb::ListRepairOrdersRequest {
                station: "S3001".into(),
                statuses: vec![vpb::RepairOrderStatus::Closed as i32],
                ..Default::default()
            },
        )?)
        .await?
        .into_inner()
        .repair_orders;
    for (i, order) in orders.iter().filter(|o| !o.customer.is_empty()).enumerate() {
        let response = pb::SurveyResponse {
            repair_order: order.name.clone(),
            customer: order.customer.clone(),
            outlet: order.station.clone(),
            technician: "S3001-T07".into(),
            satisfaction: [5, 4, 5, 3, 4][i % 5],
            nps: [10, 8, 9, 6, 8][i % 5],
            comments: "Friendly advisor; the car was ready on time".into(),
            ..Default::default()
        };
        client
            .submit_survey_response(actors.request(
                "CALLCENTER",
                Role::Agent,
                pb::SubmitSurveyResponseRequest {
                    response: Some(response),
                    request_id: format!("demo-survey-{i}"),
                },
            )?)
            .await?;
    }
    Ok(())
}

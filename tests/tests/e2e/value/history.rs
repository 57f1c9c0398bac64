//! A generated history — a few hundred customers with random sales, repairs, surveys and
//! complaints, some events delivered twice, merges and an unmerge in between — gives the
//! same values incrementally as after `segments rebuild`; the value RPCs read it.

use dealernet_customers::{
    DEFAULT_VALUE_RULES,
    value_feed::{CallCenterFacts, VehicleFacts},
};
use dealernet_kit::{auth::Role, events::Apply};
use dealernet_proto::{
    callcenter::v1::{self as ccpb, call_center_service_event::Kind as CallKind},
    customers::v1 as pb,
    types::v1 as types,
    vehicles::v1::{self as vpb, vehicle_service_event::Kind as VehicleKind},
};
use dealernet_tests::TestPlatform;
use prost_types::Timestamp;
use sqlx::PgPool;
use tonic::Code;

use super::{counted, hq, registry_pool, snapshot};
use crate::{assert_invalid, assert_refused, person};

const CUSTOMERS: usize = 240;
const PROVINCES: [&str; 4] = ["广东省", "浙江省", "四川省", ""];

/// A small deterministic generator (xorshift), so that a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn at(day: u64, second: u64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: 1_600_000_000 + (day * 86_400 + second) as i64,
        nanos: 0,
    })
}

fn cny(minor: i64) -> Option<types::Money> {
    Some(types::Money {
        currency_code: "CNY".into(),
        minor_units: minor,
    })
}

enum Fact {
    Vehicle(vpb::StreamEventsResponse),
    Call(ccpb::StreamEventsResponse),
}

fn vehicle(kind: VehicleKind) -> Fact {
    Fact::Vehicle(vpb::StreamEventsResponse {
        event: Some(vpb::VehicleServiceEvent { kind: Some(kind) }),
        ..Default::default()
    })
}

fn call(kind: CallKind) -> Fact {
    Fact::Call(ccpb::StreamEventsResponse {
        event: Some(ccpb::CallCenterServiceEvent { kind: Some(kind) }),
        ..Default::default()
    })
}

/// The facts of customer `i` (`name`), in random order of kinds.
fn facts_of(dice: &mut Dice, i: usize, name: &str) -> Vec<Fact> {
    let mut facts = Vec::new();
    let mut vins = Vec::new();
    for j in 0..dice.below(3) {
        let vin = format!("GEN{i:05}S{j}");
        vins.push(vin.clone());
        facts.push(vehicle(VehicleKind::VehicleSold(vpb::VehicleSold {
            vehicle: format!("vehicles/{vin}"),
            customer: name.into(),
            outlet: ["D1001", "D1002"][dice.below(2) as usize].into(),
            price: cny(10_000_000 + 1_000 * dice.below(30_000) as i64),
            sell_time: at(dice.below(1800), dice.below(86_400)),
            ..Default::default()
        })));
    }
    for j in 0..dice.below(5) {
        let vin = match vins.get(dice.below(3) as usize) {
            Some(v) => v.clone(),
            None => format!("GEN{i:05}R{j}"),
        };
        facts.push(vehicle(VehicleKind::RepairOrderClosed(
            vpb::RepairOrderClosed {
                repair_order: format!("repairOrders/gen-{i}-{j}"),
                vehicle: format!("vehicles/{vin}"),
                station: "S2001".into(),
                customer: name.into(),
                customer_total: cny(dice.below(500_000) as i64),
                close_time: at(dice.below(1800), dice.below(86_400)),
                ..Default::default()
            },
        )));
    }
    for j in 0..dice.below(7) {
        facts.push(call(CallKind::SurveyCompleted(ccpb::SurveyCompleted {
            survey_response: format!("surveyResponses/gen-{i}-{j}"),
            customer: name.into(),
            satisfaction: 1 + dice.below(5) as i32,
            nps: dice.below(11) as i32,
            answer_time: at(dice.below(1800), dice.below(86_400)),
            ..Default::default()
        })));
    }
    for j in 0..dice.below(3) {
        let kind = if j == 2 {
            ccpb::CaseType::Inquiry
        } else {
            ccpb::CaseType::Complaint
        };
        facts.push(call(CallKind::CaseOpened(ccpb::CaseOpened {
            case: format!("cases/gen-{i}-{j}"),
            r#type: kind as i32,
            customer: name.into(),
            open_time: at(dice.below(1800), dice.below(86_400)),
            ..Default::default()
        })));
    }
    facts
}

/// Applies `fact` as the consumers would: in a transaction of its own.
async fn apply(pool: &PgPool, fact: &Fact) {
    let rules = DEFAULT_VALUE_RULES;
    let mut tx = pool.begin().await.expect("tx");
    match fact {
        Fact::Vehicle(d) => VehicleFacts { rules }.apply(&mut tx, d).await,
        Fact::Call(d) => CallCenterFacts { rules }.apply(&mut tx, d).await,
    }
    .expect("applied");
    tx.commit().await.expect("commit");
}

async fn create(platform: &TestPlatform, i: usize) -> String {
    let mut customer = person("赵", "敏", &format!("1390{:07}", 1_000_000 + i));
    if let Some(address) = customer.address.as_mut() {
        address.province = PROVINCES[i % PROVINCES.len()].into();
    }
    if i.is_multiple_of(5) {
        customer.preferred_dealer = "D1002".into();
    }
    platform
        .customers("D1001", Role::Dealer)
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(customer),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer")
        .name
}

async fn merge(platform: &TestPlatform, survivor: &str, duplicates: &[&String]) -> String {
    hq(platform)
        .merge_customers(pb::MergeCustomersRequest {
            survivor: survivor.into(),
            duplicates: duplicates.iter().map(|d| (*d).clone()).collect(),
            ..Default::default()
        })
        .await
        .expect("merge")
        .into_inner()
        .merge
        .expect("merge")
        .name
}

fn id_of(name: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(name.trim_start_matches("customers/")).expect("id")
}

#[tokio::test]
async fn incremental_values_equal_a_rebuild_and_the_rpcs_read_them() {
    let platform = TestPlatform::spawn().await;
    crate::network(&platform).await;
    let pool = registry_pool(&platform).await;
    let mut names = Vec::new();
    for i in 0..CUSTOMERS {
        names.push(create(&platform, i).await);
    }
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut facts: Vec<Fact> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        facts.extend(facts_of(&mut dice, i, name));
    }
    assert!(facts.len() > 600, "{} facts", facts.len());
    // The first half, some twice; merges and an unmerge; then the rest, some naming
    // customers merged away by now (they count for the survivor).
    let half = facts.len() / 2;
    for (n, fact) in facts[..half].iter().enumerate() {
        apply(&pool, fact).await;
        if n.is_multiple_of(7) {
            apply(&pool, fact).await;
        }
    }
    merge(&platform, &names[0], &[&names[1]]).await;
    merge(&platform, &names[2], &[&names[3], &names[4]]).await;
    merge(&platform, &names[2], &[&names[0]]).await;
    let undone = merge(&platform, &names[5], &[&names[6]]).await;
    hq(&platform)
        .unmerge_customer(pb::UnmergeCustomerRequest {
            merge: undone,
            request_id: String::new(),
        })
        .await
        .expect("unmerge");
    for (n, fact) in facts[half..].iter().enumerate() {
        apply(&pool, fact).await;
        if n.is_multiple_of(5) {
            apply(&pool, fact).await;
        }
    }

    let incremental = snapshot(&pool).await;
    assert!(incremental.0.len() > CUSTOMERS / 2, "most have facts");
    assert_eq!(incremental.1, counted(&pool).await, "maintained counts");
    let tiers: std::collections::BTreeSet<&str> =
        incremental.1.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(tiers.len(), 3, "the history reaches every tier: {tiers:?}");
    let chained: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customer_value WHERE customer_id = ANY ($1)")
            .bind(vec![id_of(&names[0]), id_of(&names[1]), id_of(&names[3])])
            .fetch_one(&pool)
            .await
            .expect("merged");
    assert_eq!(chained, 0, "merged customers have no value of their own");
    let survivor: (i32, i32) =
        sqlx::query_as("SELECT purchases, surveys FROM customer_value WHERE customer_id = $1")
            .bind(id_of(&names[2]))
            .fetch_one(&pool)
            .await
            .expect("survivor");
    let own: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM value_sale WHERE customer_id = ANY ($1)), \
                (SELECT count(*) FROM value_survey WHERE customer_id = ANY ($1))",
    )
    .bind(names[..5].iter().map(|n| id_of(n)).collect::<Vec<_>>())
    .fetch_one(&pool)
    .await
    .expect("facts");
    assert_eq!(
        (i64::from(survivor.0), i64::from(survivor.1)),
        own,
        "the survivor counts the facts of the chain merged into it"
    );

    // The rebuild computes exactly the same rows and counts.
    sqlx::query("UPDATE segment_count SET customers = customers + 5")
        .execute(&pool)
        .await
        .expect("drift the counts");
    let rebuilt = dealernet_customers::segments::rebuild(&pool, &DEFAULT_VALUE_RULES, 37, |_| {})
        .await
        .expect("rebuild");
    assert_eq!(rebuilt.customers, CUSTOMERS as u64);
    assert_eq!(rebuilt.batches, CUSTOMERS.div_ceil(37) as u64);
    assert_eq!(rebuilt.valued, incremental.0.len() as u64);
    assert_eq!(snapshot(&pool).await, incremental, "rebuild = incremental");

    summary_counts(&platform, &incremental.1).await;
    paging_and_filters(&platform, &pool).await;
}

async fn summary_counts(platform: &TestPlatform, counts: &[(String, String, i64)]) {
    let summary = hq(platform)
        .get_segment_summary(pb::GetSegmentSummaryRequest::default())
        .await
        .expect("summary")
        .into_inner();
    let total: i64 = counts.iter().map(|c| c.2).sum();
    assert_eq!(summary.total_customers, total);
    assert_eq!(summary.segments.len(), counts.len());
    let tier_name = |t: i32| match pb::CustomerTier::try_from(t) {
        Ok(pb::CustomerTier::Transactional) => "TRANSACTIONAL",
        Ok(pb::CustomerTier::Relationship) => "RELATIONSHIP",
        Ok(pb::CustomerTier::KeyAccount) => "KEY_ACCOUNT",
        other => panic!("tier {other:?}"),
    };
    for (s, (tier, province, n)) in summary.segments.iter().zip(counts) {
        assert_eq!(
            (tier_name(s.tier), &s.province, s.customers),
            (tier.as_str(), province, *n)
        );
        assert!((s.share - *n as f64 / total as f64).abs() < 1e-9);
    }
    let shares: f64 = summary.segments.iter().map(|s| s.share).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    let one = hq(platform)
        .get_segment_summary(pb::GetSegmentSummaryRequest {
            province: "浙江省".into(),
        })
        .await
        .expect("province")
        .into_inner();
    assert!(one.segments.iter().all(|s| s.province == "浙江省"));
    let in_province: f64 = one.segments.iter().map(|s| s.province_share).sum();
    assert!((in_province - 1.0).abs() < 1e-9);
    // The hotline reads it too; a station does not.
    platform
        .customers("CALLCENTER", Role::Agent)
        .get_segment_summary(pb::GetSegmentSummaryRequest::default())
        .await
        .expect("hotline");
    assert_refused(
        platform
            .customers("S2001", Role::Station)
            .get_segment_summary(pb::GetSegmentSummaryRequest::default())
            .await,
        Code::PermissionDenied,
        "SEGMENT_SUMMARY_CENTRAL_ONLY",
    );
}

/// Every page of ListSegmentMembers with `req`'s filters, as `org`/`role`.
async fn all_pages(
    platform: &TestPlatform,
    org: &str,
    role: Role,
    req: pb::ListSegmentMembersRequest,
) -> Vec<String> {
    let mut client = platform.customers(org, role);
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_segment_members(pb::ListSegmentMembersRequest {
                page_size: 7,
                page_token: token.clone(),
                ..req.clone()
            })
            .await
            .expect("page")
            .into_inner();
        assert!(page.values.len() <= 7);
        names.extend(page.values.into_iter().map(|v| v.customer));
        if page.next_page_token.is_empty() {
            return names;
        }
        token = page.next_page_token;
    }
}

async fn expected(pool: &PgPool, condition: &str) -> Vec<String> {
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(&format!(
        "SELECT v.customer_id FROM customer_value v JOIN customer c ON c.id = v.customer_id \
         WHERE {condition} ORDER BY v.customer_id"
    ))
    .fetch_all(pool)
    .await
    .expect("expected members");
    ids.into_iter()
        .map(|id| format!("customers/{id}"))
        .collect()
}

async fn paging_and_filters(platform: &TestPlatform, pool: &PgPool) {
    let relationship = pb::ListSegmentMembersRequest {
        tier: pb::CustomerTier::Relationship as i32,
        ..Default::default()
    };
    let want = expected(pool, "v.tier = 'RELATIONSHIP'").await;
    assert!(want.len() > 7, "several pages");
    assert_eq!(
        all_pages(platform, "HQ", Role::Hq, relationship.clone()).await,
        want
    );
    let keys = pb::ListSegmentMembersRequest {
        tier: pb::CustomerTier::KeyAccount as i32,
        province: "广东省".into(),
        ..Default::default()
    };
    assert_eq!(
        all_pages(platform, "HQ", Role::Hq, keys).await,
        expected(pool, "v.tier = 'KEY_ACCOUNT' AND v.province = '广东省'").await
    );
    let preferring = pb::ListSegmentMembersRequest {
        preferred_outlet: "D1002".into(),
        ..Default::default()
    };
    let want = expected(pool, "c.preferred_dealer = 'D1002'").await;
    assert!(!want.is_empty());
    assert_eq!(
        all_pages(platform, "HQ", Role::Hq, preferring.clone()).await,
        want
    );
    // The creating dealer sees them all; another outlet none (it is linked to none).
    assert_eq!(
        all_pages(platform, "D1001", Role::Dealer, preferring.clone()).await,
        want
    );
    assert!(
        all_pages(platform, "D1002", Role::Dealer, preferring)
            .await
            .is_empty()
    );

    let mut client = hq(platform);
    let first = client
        .list_segment_members(pb::ListSegmentMembersRequest {
            page_size: 3,
            ..relationship.clone()
        })
        .await
        .expect("first page")
        .into_inner();
    let token = first.next_page_token;
    let mut tampered = token.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    assert_invalid(
        client
            .list_segment_members(pb::ListSegmentMembersRequest {
                page_token: String::from_utf8(tampered).expect("ascii"),
                ..relationship.clone()
            })
            .await,
        &["page_token"],
    );
    assert_invalid(
        client
            .list_segment_members(pb::ListSegmentMembersRequest {
                page_token: token,
                tier: pb::CustomerTier::KeyAccount as i32,
                ..Default::default()
            })
            .await,
        &["page_token"],
    );
    assert_invalid(
        client
            .list_segment_members(pb::ListSegmentMembersRequest {
                tier: 42,
                preferred_outlet: "not a code!".into(),
                page_size: -1,
                ..Default::default()
            })
            .await,
        &["tier", "preferred_outlet", "page_size"],
    );
}

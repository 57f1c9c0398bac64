//! FindDuplicates: scored candidates with their evidence.

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use dealernet_tests::{CustomersClient, TestPlatform};
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

fn born(mut c: pb::Customer, year: i32) -> pb::Customer {
    c.birthday = Some(types::Date {
        year,
        month: 3,
        day: 14,
    });
    c
}

async fn create(client: &mut CustomersClient, c: pb::Customer) -> String {
    client
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(c),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer")
        .name
}

fn rules(c: &pb::DuplicateCandidate) -> Vec<pb::MatchRule> {
    c.reasons
        .iter()
        .map(|r| pb::MatchRule::try_from(r.rule).expect("known rule"))
        .collect()
}

#[tokio::test]
async fn finds_the_same_person_across_scripts_orders_and_numbers() {
    use pb::MatchRule as R;
    let platform = TestPlatform::spawn().await;
    let mut hq = platform.customers("HQ", Role::Hq);
    let original = create(&mut hq, born(person("王", "小明", "13800138000"), 1980)).await;
    let pinyin = create(
        &mut hq,
        born(person("Wang", "Xiaoming", "+86 138 0013 8000"), 1980),
    )
    .await;
    let swapped_homophone = create(&mut hq, born(person("晓明", "王", "13999990000"), 1980)).await;
    let namesake = create(&mut hq, born(person("王", "小明", "13712345678"), 1992)).await;

    let found = hq
        .find_duplicates(pb::FindDuplicatesRequest {
            target: Some(pb::find_duplicates_request::Target::Name(original.clone())),
            max_results: 0,
            min_score: 0.0,
        })
        .await
        .expect("find")
        .into_inner()
        .candidates;
    let names: Vec<&str> = found
        .iter()
        .map(|c| c.customer.as_ref().expect("c").name.as_str())
        .collect();
    assert_eq!(
        names,
        [pinyin.as_str(), swapped_homophone.as_str()],
        "the namesake born in another year is not a duplicate"
    );
    assert_eq!(
        rules(&found[0]),
        [
            R::SamePhone,
            R::SameName,
            R::SameBirthday,
            R::SameCity,
            R::SameStreet
        ]
    );
    assert!(found[0].score > found[1].score);
    assert!(
        rules(&found[1]).contains(&R::SwappedName),
        "{:?}",
        rules(&found[1])
    );

    // A candidate record that is not stored yet: what a clerk is typing.
    let typed = hq
        .find_duplicates(pb::FindDuplicatesRequest {
            target: Some(pb::find_duplicates_request::Target::Candidate(born(
                person("王", "晓明", "138-0013-8000"),
                1980,
            ))),
            max_results: 1,
            min_score: 0.9,
        })
        .await
        .expect("find")
        .into_inner()
        .candidates;
    assert_eq!(typed.len(), 1);
    assert!(typed[0].score >= 0.9);

    // Low thresholds let the namesake in, with the evidence against it.
    let everyone = hq
        .find_duplicates(pb::FindDuplicatesRequest {
            target: Some(pb::find_duplicates_request::Target::Name(original.clone())),
            max_results: 10,
            min_score: 0.01,
        })
        .await
        .expect("find")
        .into_inner()
        .candidates;
    let twin = everyone
        .iter()
        .find(|c| c.customer.as_ref().expect("c").name == namesake)
        .expect("namesake listed");
    assert!(rules(twin).contains(&R::DifferentBirthday));
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("D1001", Role::Dealer);
    let own = create(&mut client, person("王", "伟", "13800138000")).await;
    let foreign = create(
        &mut platform.customers("D1002", Role::Dealer),
        person("李", "娜", "13900139000"),
    )
    .await;
    let find = |target, max_results, min_score| pb::FindDuplicatesRequest {
        target,
        max_results,
        min_score,
    };
    use pb::find_duplicates_request::Target;
    assert_invalid(
        client.find_duplicates(find(None, 0, 0.0)).await,
        &["target"],
    );
    assert_invalid(
        client
            .find_duplicates(find(Some(Target::Name(own.clone())), -1, 1.5))
            .await,
        &["max_results", "min_score"],
    );
    assert_invalid(
        client
            .find_duplicates(find(Some(Target::Name("customers/1".into())), 0, 0.0))
            .await,
        &["name"],
    );
    assert_invalid(
        client
            .find_duplicates(find(
                Some(Target::Candidate(person("王", "伟", "12"))),
                0,
                0.0,
            ))
            .await,
        &["candidate.phones[0].number"],
    );
    assert_refused(
        client
            .find_duplicates(find(
                Some(Target::Name(
                    "customers/01936f0e-0000-7000-8000-000000000000".into(),
                )),
                0,
                0.0,
            ))
            .await,
        Code::NotFound,
        "CUSTOMER_NOT_FOUND",
    );
    assert_refused(
        client
            .find_duplicates(find(Some(Target::Name(foreign)), 0, 0.0))
            .await,
        Code::PermissionDenied,
        "CUSTOMER_NOT_LINKED",
    );
    // A dealer typing a customer another dealer holds sees the candidate masked.
    let masked = client
        .find_duplicates(find(
            Some(Target::Candidate(person("李", "娜", "13900139000"))),
            0,
            0.0,
        ))
        .await
        .expect("find")
        .into_inner()
        .candidates;
    assert_eq!(masked.len(), 1);
    assert!(masked[0].customer.as_ref().expect("c").masked);
}

#[tokio::test]
async fn scan_streams_groups_of_duplicates() {
    let platform = TestPlatform::spawn().await;
    let mut hq = platform.customers("HQ", Role::Hq);
    let a1 = create(&mut hq, born(person("王", "小明", "13800138000"), 1980)).await;
    let a2 = create(
        &mut hq,
        born(person("Wang", "Xiaoming", "138 0013 8000"), 1980),
    )
    .await;
    let a3 = create(&mut hq, born(person("王", "晓明", "13911112222"), 1980)).await;
    let mut b1 = born(person("李", "娜", "13700001111"), 1975);
    b1.emails = vec![pb::Email {
        address: "lina@example.com".into(),
    }];
    let b1 = create(&mut hq, b1).await;
    let mut b2 = born(person("Li", "Na", "13700002222"), 1975);
    b2.emails = vec![pb::Email {
        address: "LiNa@example.com".into(),
    }];
    let b2 = create(&mut hq, b2).await;
    create(&mut hq, born(person("赵", "敏", "13600001111"), 1990)).await;
    // The same people again in another province.
    let mut elsewhere = born(person("王", "小明", "13800138000"), 1980);
    elsewhere.address = Some(types::PostalAddress {
        province: "北京市".into(),
        city: "北京市".into(),
        ..Default::default()
    });
    create(&mut hq, elsewhere).await;

    let scan = |province: &str| pb::ScanDuplicatesRequest {
        province: province.into(),
        min_score: 0.0,
    };
    let mut stream = hq
        .scan_duplicates(scan("广东省"))
        .await
        .expect("scan")
        .into_inner();
    let mut groups = Vec::new();
    while let Some(message) = stream.message().await.expect("stream") {
        groups.push(message.group.expect("group"));
    }
    let mut found: Vec<Vec<String>> = groups.iter().map(|g| g.customers.clone()).collect();
    found.sort();
    let mut expected = vec![vec![a1, a2, a3], vec![b1, b2]];
    for g in &mut expected {
        g.sort();
    }
    expected.sort();
    assert_eq!(found, expected);
    assert!(
        groups
            .iter()
            .all(|g| !g.pairs.is_empty() && g.pairs.iter().all(|p| p.score >= 0.8))
    );

    let mut everywhere = hq
        .scan_duplicates(scan(""))
        .await
        .expect("scan")
        .into_inner();
    let mut sizes = Vec::new();
    while let Some(message) = everywhere.message().await.expect("stream") {
        sizes.push(message.group.expect("group").customers.len());
    }
    sizes.sort();
    assert_eq!(sizes, [2, 4], "the Beijing record joins the first group");

    assert_invalid(
        hq.scan_duplicates(pb::ScanDuplicatesRequest {
            province: String::new(),
            min_score: 2.0,
        })
        .await,
        &["min_score"],
    );
    assert_refused(
        platform
            .customers("D1001", Role::Dealer)
            .scan_duplicates(scan(""))
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
}

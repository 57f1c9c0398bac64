//! Relationships between customers, and preferred outlets.

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use dealernet_tests::{CustomersClient, TestPlatform};
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

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

fn company(name: &str) -> pb::Customer {
    pb::Customer {
        kind: pb::CustomerKind::Organization as i32,
        organization_name: name.into(),
        source_channel: pb::SourceChannel::DealerPos as i32,
        ..Default::default()
    }
}

fn link(related: &str, kind: pb::RelationshipType) -> pb::Relationship {
    pb::Relationship {
        related_customer: related.into(),
        r#type: kind as i32,
        ..Default::default()
    }
}

async fn relate(
    client: &mut CustomersClient,
    parent: &str,
    r: pb::Relationship,
) -> Result<pb::Relationship, tonic::Status> {
    client
        .create_relationship(pb::CreateRelationshipRequest {
            parent: parent.into(),
            relationship: Some(r),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().relationship.expect("relationship"))
}

async fn list(client: &mut CustomersClient, parent: &str) -> Vec<pb::Relationship> {
    client
        .list_relationships(pb::ListRelationshipsRequest {
            parent: parent.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner()
        .relationships
}

#[tokio::test]
async fn typed_links_between_the_right_kinds_of_party() {
    use pb::RelationshipType as T;
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("D1001", Role::Dealer);
    let wang = create(&mut client, person("王", "伟", "13800138000")).await;
    let li = create(&mut client, person("李", "娜", "13900139000")).await;
    let fleet = create(&mut client, company("顺风物流有限公司")).await;

    let spouse = relate(
        &mut client,
        &wang,
        pb::Relationship {
            valid_from: Some(types::Date {
                year: 2015,
                month: 5,
                day: 20,
            }),
            ..link(&li, T::Spouse)
        },
    )
    .await
    .expect("spouse");
    assert!(spouse.name.starts_with(&format!("{wang}/relationships/")));
    assert_eq!(spouse.recorded_by, "D1001");
    relate(&mut client, &wang, link(&fleet, T::Employer))
        .await
        .expect("employer");
    relate(&mut client, &fleet, link(&li, T::FleetManager))
        .await
        .expect("fleet manager");

    assert_eq!(list(&mut client, &wang).await.len(), 2);
    let of_li = list(&mut client, &li).await;
    assert_eq!(of_li.len(), 2, "listed from the related side too");
    assert_eq!(of_li[0], spouse);

    // Wrong kinds, self links, duplicates, unknown parties, bad dates: refused, nothing written.
    assert_invalid(
        relate(&mut client, &wang, link(&li, T::Employer)).await,
        &["relationship.related_customer"],
    );
    assert_invalid(
        relate(&mut client, &li, link(&wang, T::FleetManager)).await,
        &["parent"],
    );
    assert_invalid(
        relate(&mut client, &wang, link(&wang, T::Spouse)).await,
        &["relationship.related_customer"],
    );
    assert_invalid(
        relate(&mut client, &wang, link(&li, T::Unspecified)).await,
        &["relationship.type"],
    );
    assert_invalid(
        relate(
            &mut client,
            &wang,
            pb::Relationship {
                valid_from: Some(types::Date {
                    year: 2020,
                    month: 1,
                    day: 1,
                }),
                valid_to: Some(types::Date {
                    year: 2019,
                    month: 1,
                    day: 1,
                }),
                ..link(&li, T::HouseholdMember)
            },
        )
        .await,
        &["relationship.valid_to"],
    );
    assert_refused(
        relate(&mut client, &wang, link(&li, T::Spouse)).await,
        Code::AlreadyExists,
        "RELATIONSHIP_EXISTS",
    );
    assert_refused(
        relate(
            &mut client,
            &wang,
            link("customers/01936f0e-0000-7000-8000-000000000000", T::Spouse),
        )
        .await,
        Code::NotFound,
        "CUSTOMER_NOT_FOUND",
    );
    assert_eq!(platform.count("relationship").await, 3);

    // Deleting: only under its own subject, once.
    let wrong_parent = spouse.name.replace(&wang, &li);
    assert_refused(
        client
            .delete_relationship(pb::DeleteRelationshipRequest {
                name: wrong_parent,
                request_id: String::new(),
            })
            .await,
        Code::NotFound,
        "RELATIONSHIP_NOT_FOUND",
    );
    assert_invalid(
        client
            .delete_relationship(pb::DeleteRelationshipRequest {
                name: "customers/x".into(),
                request_id: String::new(),
            })
            .await,
        &["name"],
    );
    client
        .delete_relationship(pb::DeleteRelationshipRequest {
            name: spouse.name.clone(),
            request_id: String::new(),
        })
        .await
        .expect("delete");
    assert_refused(
        client
            .delete_relationship(pb::DeleteRelationshipRequest {
                name: spouse.name,
                request_id: String::new(),
            })
            .await,
        Code::NotFound,
        "RELATIONSHIP_NOT_FOUND",
    );
    assert_eq!(platform.count("relationship").await, 2);

    // Erasing a party removes the links that describe the person.
    platform
        .customers("HQ", Role::Hq)
        .erase_customer(pb::EraseCustomerRequest {
            name: li.clone(),
            reason: "request".into(),
            request_id: String::new(),
        })
        .await
        .expect("erase");
    assert_eq!(platform.count("relationship").await, 1);
}

#[tokio::test]
async fn preferred_outlets_are_kept_and_updatable() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("D1001", Role::Dealer);
    let created = client
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(pb::Customer {
                preferred_dealer: "D1001".into(),
                preferred_service_station: "S3001".into(),
                ..person("王", "伟", "13800138000")
            }),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer");
    assert_eq!(
        (
            created.preferred_dealer.as_str(),
            created.preferred_service_station.as_str()
        ),
        ("D1001", "S3001")
    );
    let updated = client
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(pb::Customer {
                name: created.name.clone(),
                preferred_service_station: "S3002".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["preferred_service_station".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("update")
        .into_inner()
        .customer
        .expect("customer");
    assert_eq!(
        (
            updated.preferred_dealer.as_str(),
            updated.preferred_service_station.as_str()
        ),
        ("D1001", "S3002")
    );
    let bad = client
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(pb::Customer {
                preferred_dealer: "d 1001".into(),
                ..person("李", "娜", "13900139000")
            }),
            request_id: String::new(),
        })
        .await;
    assert_invalid(bad, &["customer.preferred_dealer"]);
}

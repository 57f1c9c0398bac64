//! A labelled set for measuring duplicate detection: people recorded several times the
//! way real duplicates arise (a reformatted phone, the name in pinyin or in swapped order,
//! a homophone or a typo in the name, a move to another city with a new phone), and
//! look-alikes — different people with the same common name in the same city.

use dealernet_proto::customers::v1 as pb;

use super::{MOBILE_PREFIXES, PLACES, Person, Rng};

/// Homophones a clerk might type for a given-name character (same toneless pinyin).
const HOMOPHONES: &[(&str, &str)] = &[
    ("小", "晓"),
    ("明", "铭"),
    ("伟", "玮"),
    ("丽", "莉"),
    ("静", "婧"),
    ("军", "君"),
    ("强", "蔷"),
    ("杰", "洁"),
    ("涛", "韬"),
    ("平", "萍"),
    ("刚", "钢"),
    ("华", "桦"),
    ("东", "冬"),
    ("梅", "玫"),
];

/// One record and the person it belongs to.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub person: usize,
    pub customer: pb::Customer,
}

fn new_mobile(rng: &mut Rng) -> String {
    format!(
        "{}{:08}",
        rng.pick(MOBILE_PREFIXES),
        rng.next_u64() % 100_000_000
    )
}

/// A second record of `p`, changed in one of the ways duplicates really differ.
fn variant(p: &Person, rng: &mut Rng) -> pb::Customer {
    let mut c = p.to_customer(pb::SourceChannel::ServiceStation);
    c.national_id.clear();
    let name = |family: &str, given: &str| {
        Some(pb::PersonName {
            family_name: family.into(),
            given_name: given.into(),
        })
    };
    match rng.below(6) {
        0 => {
            let m = &p.mobile;
            c.phones[0].number = format!("+86 {} {} {}", &m[..3], &m[3..7], &m[7..]);
            c.emails.clear();
        }
        1 => c.person_name = name(p.family.1, p.given.1),
        2 => c.person_name = name(p.given.1, p.family.1),
        3 => {
            let mut given = p.given.0.to_owned();
            for (a, b) in HOMOPHONES {
                if given.contains(a) {
                    given = given.replacen(a, b, 1);
                    break;
                }
            }
            c.person_name = name(p.family.0, &given);
        }
        4 => {
            let mut given: Vec<char> = p.given.1.chars().collect();
            if given.len() > 3 {
                given.remove(1 + rng.below(given.len() - 2));
            }
            c.person_name = name(p.family.1, &given.into_iter().collect::<String>());
        }
        _ => {
            let (province, city, districts, postal, _) =
                PLACES[(p.place + 1 + rng.below(PLACES.len() - 1)) % PLACES.len()];
            c.phones[0].number = new_mobile(rng);
            c.address = Some(dealernet_proto::types::v1::PostalAddress {
                province: province.into(),
                city: city.into(),
                district: districts[0].into(),
                street: String::new(),
                postal_code: format!("{postal}000"),
                region_code: "CN".into(),
            });
        }
    }
    c
}

/// `people` persons; about a third recorded twice or three times, and for about a fifth a
/// look-alike (same name and city, another birthday and phone) is added as its own person.
pub fn labelled_set(seed: u64, people: usize) -> Vec<Labelled> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut person = 0;
    while person < people {
        let p = Person::random(&mut rng);
        out.push(Labelled {
            person,
            customer: p.to_customer(pb::SourceChannel::DealerPos),
        });
        if rng.chance(35) {
            for _ in 0..1 + rng.below(2) {
                out.push(Labelled {
                    person,
                    customer: variant(&p, &mut rng),
                });
            }
        }
        person += 1;
        if rng.chance(20) && person < people {
            let mut twin = Person::random(&mut rng);
            twin.family = p.family;
            twin.given = p.given;
            twin.place = p.place;
            twin.email = None;
            out.push(Labelled {
                person,
                customer: twin.to_customer(pb::SourceChannel::Hotline),
            });
            person += 1;
        }
    }
    out
}

//! Realistic generated customers: Chinese names, mobile numbers, provinces and cities,
//! valid national ID numbers. `dev` mode loads a few hundred with near-duplicates; the
//! benchmark data generator loads millions. Deterministic for a given seed.

pub mod labelled;

use dealernet_proto::{customers::v1 as pb, types::v1 as types};

use crate::domain::national_id::check_character;

/// SplitMix64: tiny, fast, good enough for test data, and no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

#[rustfmt::skip]
const SURNAMES: &[(&str, &str)] = &[
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
    ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("高", "Gao"),
    ("林", "Lin"), ("罗", "Luo"), ("郑", "Zheng"), ("梁", "Liang"), ("谢", "Xie"), ("宋", "Song"),
    ("唐", "Tang"), ("许", "Xu"), ("韩", "Han"), ("冯", "Feng"), ("邓", "Deng"), ("曹", "Cao"),
];

#[rustfmt::skip]
const GIVEN: &[(&str, &str)] = &[
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
    ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"),
    ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀英", "Xiuying"), ("霞", "Xia"),
    ("平", "Ping"), ("刚", "Gang"), ("桂英", "Guiying"), ("小明", "Xiaoming"), ("建华", "Jianhua"),
    ("海燕", "Haiyan"), ("志强", "Zhiqiang"), ("玉兰", "Yulan"), ("晓东", "Xiaodong"),
    ("春梅", "Chunmei"),
];

/// Province, city, districts, postal-code prefix and the ID number's region code.
#[rustfmt::skip]
const PLACES: &[(&str, &str, &[&str], &str, &str)] = &[
    ("北京市", "北京市", &["朝阳区", "海淀区", "东城区", "丰台区"], "100", "110105"),
    ("上海市", "上海市", &["浦东新区", "徐汇区", "静安区", "闵行区"], "200", "310104"),
    ("广东省", "广州市", &["天河区", "越秀区", "海珠区"], "510", "440106"),
    ("广东省", "深圳市", &["南山区", "福田区", "宝安区"], "518", "440305"),
    ("浙江省", "杭州市", &["西湖区", "上城区", "滨江区"], "310", "330106"),
    ("江苏省", "南京市", &["鼓楼区", "玄武区", "建邺区"], "210", "320106"),
    ("江苏省", "苏州市", &["姑苏区", "工业园区", "吴中区"], "215", "320508"),
    ("四川省", "成都市", &["锦江区", "武侯区", "高新区"], "610", "510107"),
    ("湖北省", "武汉市", &["江汉区", "武昌区", "洪山区"], "430", "420106"),
    ("陕西省", "西安市", &["雁塔区", "碑林区", "未央区"], "710", "610113"),
    ("山东省", "青岛市", &["市南区", "崂山区", "黄岛区"], "266", "370202"),
    ("辽宁省", "沈阳市", &["和平区", "沈河区", "浑南区"], "110", "210102"),
    ("河南省", "郑州市", &["金水区", "中原区", "二七区"], "450", "410105"),
    ("重庆市", "重庆市", &["渝中区", "江北区", "南岸区"], "400", "500103"),
    ("天津市", "天津市", &["和平区", "河西区", "南开区"], "300", "120103"),
];

#[rustfmt::skip]
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "156", "157", "158", "159", "176", "177", "180", "181", "186", "187", "188", "189", "199",
];

#[rustfmt::skip]
const STREETS: &[&str] = &[
    "人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "长江路", "青年路",
];
const MAIL_DOMAINS: &[&str] = &["qq.com", "163.com", "126.com", "sina.com", "outlook.com"];

/// One generated person, before it is given to any organisation.
#[derive(Debug, Clone)]
pub struct Person {
    pub family: (&'static str, &'static str),
    pub given: (&'static str, &'static str),
    pub mobile: String,
    pub email: Option<String>,
    pub national_id: Option<String>,
    pub birthday: (i32, u32, u32),
    pub place: usize,
    pub district: &'static str,
    pub street: String,
}

impl Person {
    pub fn random(rng: &mut Rng) -> Person {
        let family = *rng.pick(SURNAMES);
        let given = *rng.pick(GIVEN);
        let mobile = format!(
            "{}{:08}",
            rng.pick(MOBILE_PREFIXES),
            rng.next_u64() % 100_000_000
        );
        let birthday = (
            1950 + rng.below(55) as i32,
            1 + rng.below(12) as u32,
            1 + rng.below(28) as u32,
        );
        let place = rng.below(PLACES.len());
        let email = rng.chance(40).then(|| {
            format!(
                "{}{}{}@{}",
                given.1.to_lowercase(),
                family.1.to_lowercase(),
                rng.below(10_000),
                rng.pick(MAIL_DOMAINS)
            )
        });
        let national_id = rng.chance(30).then(|| {
            let body = format!(
                "{}{:04}{:02}{:02}{:03}",
                PLACES[place].4,
                birthday.0,
                birthday.1,
                birthday.2,
                rng.below(1000)
            );
            let check = check_character(body.as_bytes()) as char;
            format!("{body}{check}")
        });
        Person {
            family,
            given,
            mobile,
            email,
            national_id,
            birthday,
            place,
            district: PLACES[place].2[rng.below(PLACES[place].2.len())],
            street: format!("{}{}号", rng.pick(STREETS), 1 + rng.below(300)),
        }
    }

    /// The person as an organisation records it.
    pub fn to_customer(&self, channel: pb::SourceChannel) -> pb::Customer {
        let (province, city, _, postal, _) = PLACES[self.place];
        pb::Customer {
            kind: pb::CustomerKind::Person as i32,
            person_name: Some(pb::PersonName {
                family_name: self.family.0.to_owned(),
                given_name: self.given.0.to_owned(),
            }),
            phones: vec![pb::Phone {
                number: self.mobile.clone(),
                kind: pb::PhoneKind::Mobile as i32,
            }],
            emails: self
                .email
                .iter()
                .map(|e| pb::Email { address: e.clone() })
                .collect(),
            address: Some(types::PostalAddress {
                province: province.to_owned(),
                city: city.to_owned(),
                district: self.district.to_owned(),
                street: self.street.clone(),
                postal_code: format!("{postal}000"),
                region_code: "CN".to_owned(),
            }),
            birthday: Some(types::Date {
                year: self.birthday.0,
                month: self.birthday.1 as i32,
                day: self.birthday.2 as i32,
            }),
            preferred_language: "zh-CN".to_owned(),
            source_channel: channel as i32,
            national_id: self.national_id.clone().unwrap_or_default(),
            ..Default::default()
        }
    }

    /// The same person as a second organisation recorded it, the way real duplicates
    /// look: the phone written another way, the name in pinyin, or a new phone number
    /// with the same birthday and city.
    pub fn near_duplicate(&self, rng: &mut Rng, channel: pb::SourceChannel) -> pb::Customer {
        let mut c = self.to_customer(channel);
        c.national_id.clear();
        match rng.below(3) {
            0 => {
                let m = &self.mobile;
                c.phones[0].number = format!("+86 {} {} {}", &m[..3], &m[3..7], &m[7..]);
                c.emails.clear();
            }
            1 => {
                c.person_name = Some(pb::PersonName {
                    family_name: self.family.1.to_owned(),
                    given_name: self.given.1.to_owned(),
                });
            }
            _ => {
                c.phones[0].number = format!(
                    "{}{:08}",
                    rng.pick(MOBILE_PREFIXES),
                    rng.next_u64() % 100_000_000
                );
                if let Some(a) = c.address.as_mut() {
                    a.street.clear();
                }
            }
        }
        c
    }
}

/// An organisation that owns demo customers.
#[derive(Debug, Clone, Copy)]
pub struct DemoOrg {
    pub code: &'static str,
    pub channel: pb::SourceChannel,
    /// Whether it numbers its customers in a DMS (dealers do).
    pub dms: bool,
}

/// The demo network: three dealers, two service stations and the hotline.
pub const DEMO_ORGS: &[DemoOrg] = &[
    DemoOrg {
        code: "D1001",
        channel: pb::SourceChannel::DealerPos,
        dms: true,
    },
    DemoOrg {
        code: "D1002",
        channel: pb::SourceChannel::DealerPos,
        dms: true,
    },
    DemoOrg {
        code: "D2001",
        channel: pb::SourceChannel::DealerPos,
        dms: true,
    },
    DemoOrg {
        code: "S3001",
        channel: pb::SourceChannel::ServiceStation,
        dms: false,
    },
    DemoOrg {
        code: "S3002",
        channel: pb::SourceChannel::ServiceStation,
        dms: false,
    },
    DemoOrg {
        code: "CALLCENTER",
        channel: pb::SourceChannel::Hotline,
        dms: false,
    },
];

/// `count` customers of the demo organisations; about one in seven people is recorded a
/// second time by another organisation as a near-duplicate.
pub fn demo_customers(seed: u64, count: usize) -> Vec<(DemoOrg, pb::Customer)> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    let mut dms_number = 10_000;
    let mut with_dms = |org: DemoOrg, mut c: pb::Customer| {
        if org.dms {
            dms_number += 1;
            c.external_ids.push(pb::ExternalId {
                issuer: org.code.to_owned(),
                value: format!("DMS-{dms_number}"),
            });
        }
        (org, c)
    };
    while out.len() < count {
        let person = Person::random(&mut rng);
        let org = *rng.pick(DEMO_ORGS);
        out.push(with_dms(org, person.to_customer(org.channel)));
        if rng.chance(15) && out.len() < count {
            let other = *rng.pick(DEMO_ORGS);
            out.push(with_dms(
                other,
                person.near_duplicate(&mut rng, other.channel),
            ));
        }
    }
    out
}

/// Loads `count` demo customers through the same validation as the API, unless the
/// registry already holds customers (a second `dev` run reuses its data). Returns how many
/// were inserted.
pub async fn load(
    pool: &sqlx::PgPool,
    hasher: &crate::domain::IdHasher,
    count: usize,
) -> Result<usize, crate::Error> {
    use crate::{api::convert::profile_from_proto, domain::Customer, store};
    let (existing,): (i64,) = sqlx::query_as("SELECT count(*) FROM customer")
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    for (org, candidate) in demo_customers(2026, count) {
        let profile = profile_from_proto(&candidate, hasher)?;
        let customer = Customer::new(profile, org.code);
        store::insert(&mut tx, &customer).await?;
        store::link(&mut tx, customer.id, org.code, "CREATED").await?;
    }
    tx.commit().await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{api::convert::profile_from_proto, domain::IdHasher};
    use secrecy::SecretString;

    #[test]
    fn every_demo_customer_is_valid() {
        let hasher = IdHasher::new(SecretString::from("k".repeat(32)));
        let customers = demo_customers(7, 500);
        assert_eq!(customers.len(), 500);
        for (_, c) in &customers {
            profile_from_proto(c, &hasher).unwrap_or_else(|v| panic!("{v}: {c:?}"));
        }
        assert!(customers.iter().any(|(_, c)| !c.national_id.is_empty()));
    }

    #[test]
    fn same_seed_same_data() {
        let a: Vec<_> = demo_customers(1, 50).into_iter().map(|(_, c)| c).collect();
        let b: Vec<_> = demo_customers(1, 50).into_iter().map(|(_, c)| c).collect();
        assert_eq!(a, b);
    }
}

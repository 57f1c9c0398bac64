//! Generated dealer networks: the `dev` demo network (named outlets the other demo data
//! refers to, plus generated ones in a few cities, with hours, a holiday and staff) and
//! the benchmark's nationwide network. Deterministic for a seed.

pub mod cities;

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc, Weekday};
use uuid::Uuid;

use crate::{
    domain::{
        geo::{EARTH_RADIUS_KM, Point},
        hours::{Calendar, Period, WeeklyHours},
        outlet::{Address, Capability, Group, Outlet, Status},
        staff::{Role, StaffMember},
    },
    store,
};
use cities::{CITIES, City};

/// A small deterministic generator (splitmix64): demo data must not change between runs.
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

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What kind of site an outlet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Sales, service, parts and survey.
    FourS,
    /// A city showroom: sales and parts.
    Showroom,
    /// A service station: service and parts.
    Station,
}

impl Kind {
    fn capabilities(self) -> Vec<Capability> {
        match self {
            Kind::FourS => Capability::ALL.to_vec(),
            Kind::Showroom => vec![Capability::Sales, Capability::Parts],
            Kind::Station => vec![Capability::Service, Capability::Parts],
        }
    }

    /// Showrooms open every day (Chinese car buyers shop at weekends); workshops close
    /// on Sundays and at lunch.
    fn hours(self) -> WeeklyHours {
        let p = |open: u16, close: u16| Period { open, close };
        let week = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let periods: Vec<(Weekday, Period)> = match self {
            Kind::FourS | Kind::Showroom => {
                week.iter().map(|d| (*d, p(8 * 60 + 30, 18 * 60))).collect()
            }
            Kind::Station => week[..6]
                .iter()
                .flat_map(|d| [(*d, p(8 * 60, 12 * 60)), (*d, p(13 * 60, 17 * 60 + 30))])
                .collect(),
        };
        WeeklyHours::new(periods).unwrap_or_default()
    }

    fn label(self) -> &'static str {
        match self {
            Kind::FourS => "4S店",
            Kind::Showroom => "展厅",
            Kind::Station => "服务站",
        }
    }
}

/// Spring Festival 2027 (除夕 to 初二): every demo outlet closes.
pub fn holiday_closures() -> BTreeSet<NaiveDate> {
    ["2027-02-05", "2027-02-06", "2027-02-07"]
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect()
}

const DISTRICTS: &[&str] = &[
    "高新区",
    "经济技术开发区",
    "新区",
    "城区",
    "滨江区",
    "北区",
    "南区",
];
const ROADS: &[&str] = &[
    "汽车城大道",
    "工业大道",
    "迎宾路",
    "环城南路",
    "科技路",
    "建设大道",
    "车展路",
];
const BRANDS: &[&str] = &["Dealernet Auto", "Dealernet EV"];

/// A point uniformly inside a disc of `radius_km` around a city centre.
fn scatter(rng: &mut Rng, lat: f64, lng: f64, radius_km: f64) -> Point {
    let r = radius_km * rng.unit().sqrt() / EARTH_RADIUS_KM;
    let bearing = rng.unit() * std::f64::consts::TAU;
    let dlat = (r * bearing.cos()).to_degrees();
    let dlng = (r * bearing.sin() / lat.to_radians().cos()).to_degrees();
    Point {
        lat: lat + dlat,
        lng: lng + dlng,
    }
}

/// One generated outlet of `kind` near the centre of `city`.
pub fn outlet(
    rng: &mut Rng,
    code: &str,
    city: &City,
    kind: Kind,
    group: Option<String>,
    now: DateTime<Utc>,
) -> Outlet {
    let (province, city_name, region, lat, lng, _) = *city;
    let location = scatter(rng, lat, lng, 25.0);
    let district = rng.pick(DISTRICTS);
    Outlet {
        code: code.to_owned(),
        display_name: format!(
            "{}{}{}",
            city_name.trim_end_matches('市'),
            district,
            kind.label()
        ),
        group,
        region: region.to_owned(),
        address: Address {
            province: province.to_owned(),
            city: city_name.to_owned(),
            district: (*district).to_owned(),
            street: format!("{}{}号", rng.pick(ROADS), 1 + rng.below(999)),
            postal_code: String::new(),
            region_code: "CN".into(),
        },
        location,
        capabilities: kind.capabilities(),
        brands: if rng.below(3) == 0 {
            BRANDS.iter().map(|b| (*b).to_owned()).collect()
        } else {
            vec![BRANDS[0].to_owned()]
        },
        phone: format!("400-{:03}-{:04}", rng.below(1000), rng.below(10_000)),
        calendar: Calendar {
            offset: FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset"),
            hours: kind.hours(),
            closed: holiday_closures(),
        },
        status: Status::Active,
        status_reason: "created".into(),
        status_time: now,
        version: 1,
        create_time: now,
        update_time: now,
    }
}

/// A nationwide network of `count` outlets coded `{prefix}00001…`, spread over the cities
/// by weight, about 70 % of them in one of `count / 100` dealer groups.
pub fn network(
    seed: u64,
    prefix: &str,
    count: usize,
    cities: &[City],
    now: DateTime<Utc>,
) -> (Vec<Group>, Vec<Outlet>) {
    let mut rng = Rng::new(seed);
    let groups: Vec<Group> = (1..=count.div_ceil(100).max(1))
        .map(|i| Group {
            code: format!("{prefix}G{i:03}"),
            display_name: format!(
                "{}汽车销售服务集团",
                rng.pick(cities).1.trim_end_matches('市')
            ),
            create_time: now,
        })
        .collect();
    let total_weight: u32 = cities.iter().map(|c| c.5).sum();
    let outlets = (1..=count)
        .map(|i| {
            let mut pick = rng.below(total_weight as usize) as u32;
            let city = cities
                .iter()
                .find(|c| {
                    if pick < c.5 {
                        true
                    } else {
                        pick -= c.5;
                        false
                    }
                })
                .unwrap_or(&cities[0]);
            let kind = match rng.below(20) {
                0..=11 => Kind::FourS,
                12..=14 => Kind::Showroom,
                _ => Kind::Station,
            };
            let group = (rng.below(10) < 7).then(|| rng.pick(&groups).code.clone());
            outlet(&mut rng, &format!("{prefix}{i:05}"), city, kind, group, now)
        })
        .collect();
    (groups, outlets)
}

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "勇", "艳", "杰", "涛",
];
const FAMILY: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"];

/// A handful of staff for an outlet, suited to what it does.
pub fn staff(rng: &mut Rng, o: &Outlet, now: DateTime<Utc>) -> Vec<StaffMember> {
    let mut roles = vec![Role::Manager];
    if o.capabilities.contains(&Capability::Sales) {
        roles.extend([Role::SalesPerson, Role::SalesPerson]);
    }
    if o.capabilities.contains(&Capability::Service) {
        roles.extend([Role::ServiceAdvisor, Role::Technician, Role::Technician]);
    }
    roles
        .into_iter()
        .enumerate()
        .map(|(i, role)| StaffMember {
            id: Uuid::now_v7(),
            outlet: o.code.clone(),
            display_name: format!("{}{}", rng.pick(FAMILY), rng.pick(GIVEN)),
            role,
            employee_number: Some(format!("E{:03}", i + 1)),
            active: true,
            version: 1,
            create_time: now,
            update_time: now,
        })
        .collect()
}

/// The outlets the rest of the demo data names (dealer D1001 is the dev dealer token's
/// organisation, S3001 the station's), as code, city, kind.
const NAMED: &[(&str, &str, Kind)] = &[
    ("D1001", "上海市", Kind::FourS),
    ("D1002", "上海市", Kind::Showroom),
    ("D2001", "北京市", Kind::FourS),
    ("S3001", "上海市", Kind::Station),
    ("S3002", "广州市", Kind::Station),
];
/// Cities of the generated demo outlets.
const DEMO_CITIES: &[&str] = &[
    "上海市",
    "北京市",
    "广州市",
    "深圳市",
    "杭州市",
    "成都市",
    "武汉市",
    "西安市",
];
/// Generated demo outlets besides the named ones.
pub const DEMO_GENERATED: usize = 32;

/// Loads the demo network into an empty `dealers` schema; returns how many outlets were
/// inserted (0 when outlets exist: a second `dev` run reuses its data).
pub async fn load(pool: &sqlx::PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let (existing,): (i64,) = sqlx::query_as("SELECT count(*) FROM outlet")
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        return Ok(0);
    }
    let cities: Vec<City> = CITIES
        .iter()
        .filter(|c| DEMO_CITIES.contains(&c.1))
        .copied()
        .collect();
    let (groups, mut outlets) = network(2026, "X", DEMO_GENERATED, &cities, now);
    let mut rng = Rng::new(7);
    for (code, city, kind) in NAMED {
        let city = CITIES.iter().find(|c| c.1 == *city).unwrap_or(&CITIES[0]);
        outlets.push(outlet(
            &mut rng,
            code,
            city,
            *kind,
            Some(groups[0].code.clone()),
            now,
        ));
    }
    let mut tx = pool.begin().await?;
    for g in &groups {
        store::outlet::insert_group(&mut tx, g).await?;
    }
    for o in &outlets {
        store::outlet::insert_outlet(&mut tx, o).await?;
        for s in staff(&mut rng, o, now) {
            store::staff::insert(&mut tx, &s).await?;
        }
    }
    tx.commit().await?;
    Ok(outlets.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_deterministic_and_plausible() {
        let now = DateTime::from_timestamp(1_790_000_000, 0).expect("t");
        let (groups, a) = network(1, "B", 500, CITIES, now);
        let (_, b) = network(1, "B", 500, CITIES, now);
        assert_eq!(a, b);
        assert_eq!(groups.len(), 5);
        assert_eq!(a.len(), 500);
        for o in &a {
            assert!(crate::domain::outlet::check_code(&o.code).is_ok());
            let (.., lat, lng, _) = *CITIES.iter().find(|c| c.1 == o.address.city).expect("city");
            let km = crate::domain::geo::haversine_km(o.location, Point { lat, lng });
            assert!(km <= 25.01, "{} is {km} km from {}", o.code, o.address.city);
            assert!(!o.calendar.hours.is_empty());
        }
        assert!(a.iter().any(|o| o.capabilities.len() == 4));
        assert!(
            a.iter()
                .any(|o| !o.capabilities.contains(&Capability::Sales))
        );
    }
}

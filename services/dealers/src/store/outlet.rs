//! Dealer groups and outlets: rows, hours, closures, status history, the locator query.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc, Weekday};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

use super::{Lock, bad_value};
use crate::domain::{
    geo::{BoundingBox, Point},
    hours::{Calendar, Period, WeeklyHours},
    outlet::{Address, Capability, Group, Outlet, Status, StatusChange},
};

/// The constraints that refuse a second group or outlet with the same code.
pub const GROUP_UNIQUE: &str = "dealer_group_pkey";
pub const OUTLET_UNIQUE: &str = "outlet_pkey";

static OUTLET_COLUMNS: &str = include_str!("../../sql/outlet_columns.sql");
static LOCATE: LazyLock<String> = LazyLock::new(|| {
    include_str!("../../sql/locate.sql").replace("{outlet_columns}", OUTLET_COLUMNS)
});

#[derive(FromRow)]
struct OutletRow {
    code: String,
    display_name: String,
    group_code: Option<String>,
    region: String,
    province: String,
    city: String,
    district: String,
    street: String,
    postal_code: String,
    region_code: String,
    latitude: f64,
    longitude: f64,
    capabilities: Vec<String>,
    brands: Vec<String>,
    phone: String,
    utc_offset_minutes: i32,
    status: String,
    status_reason: String,
    status_time: DateTime<Utc>,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    hour_weekdays: Vec<i16>,
    hour_opens: Vec<i16>,
    hour_closes: Vec<i16>,
    closed_days: Vec<NaiveDate>,
}

impl TryFrom<OutletRow> for Outlet {
    type Error = sqlx::Error;

    fn try_from(r: OutletRow) -> Result<Outlet, sqlx::Error> {
        let capabilities = r
            .capabilities
            .iter()
            .map(|c| Capability::parse(c).ok_or_else(|| bad_value("capability", c)))
            .collect::<Result<Vec<_>, _>>()?;
        let periods = r
            .hour_weekdays
            .iter()
            .zip(&r.hour_opens)
            .zip(&r.hour_closes)
            .map(|((day, open), close)| {
                let weekday = u8::try_from(*day - 1)
                    .ok()
                    .and_then(|d| Weekday::try_from(d).ok())
                    .ok_or_else(|| bad_value("weekday", &day.to_string()))?;
                Ok((
                    weekday,
                    Period {
                        open: *open as u16,
                        close: *close as u16,
                    },
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let hours = WeeklyHours::new(periods).map_err(|e| bad_value("opening hours", &e))?;
        let offset = FixedOffset::east_opt(r.utc_offset_minutes * 60)
            .ok_or_else(|| bad_value("utc offset", &r.utc_offset_minutes.to_string()))?;
        Ok(Outlet {
            status: Status::parse(&r.status).ok_or_else(|| bad_value("status", &r.status))?,
            code: r.code,
            display_name: r.display_name,
            group: r.group_code,
            region: r.region,
            address: Address {
                province: r.province,
                city: r.city,
                district: r.district,
                street: r.street,
                postal_code: r.postal_code,
                region_code: r.region_code,
            },
            location: Point {
                lat: r.latitude,
                lng: r.longitude,
            },
            capabilities,
            brands: r.brands,
            phone: r.phone,
            calendar: Calendar {
                offset,
                hours,
                closed: r.closed_days.into_iter().collect(),
            },
            status_reason: r.status_reason,
            status_time: r.status_time,
            version: r.version,
            create_time: r.create_time,
            update_time: r.update_time,
        })
    }
}

fn capability_names(caps: &[Capability]) -> Vec<&'static str> {
    caps.iter().map(|c| c.as_str()).collect()
}

pub async fn insert_group(conn: &mut PgConnection, g: &Group) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO dealer_group (code, display_name, create_time) VALUES ($1, $2, $3)")
        .bind(&g.code)
        .bind(&g.display_name)
        .bind(g.create_time)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn load_group(conn: &mut PgConnection, code: &str) -> Result<Option<Group>, sqlx::Error> {
    let row: Option<(String, String, DateTime<Utc>)> =
        sqlx::query_as("SELECT code, display_name, create_time FROM dealer_group WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(code, display_name, create_time)| Group {
        code,
        display_name,
        create_time,
    }))
}

/// A page of groups by code, after `after`.
pub async fn list_groups(
    conn: &mut PgConnection,
    after: &str,
    limit: usize,
) -> Result<Vec<Group>, sqlx::Error> {
    let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT code, display_name, create_time FROM dealer_group WHERE code > $1 ORDER BY code LIMIT $2",
    )
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(code, display_name, create_time)| Group {
            code,
            display_name,
            create_time,
        })
        .collect())
}

/// Writes the outlet's weekly hours and closure dates, replacing what was there.
async fn replace_calendar(conn: &mut PgConnection, o: &Outlet) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM outlet_hours WHERE outlet_code = $1")
        .bind(&o.code)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM outlet_closure WHERE outlet_code = $1")
        .bind(&o.code)
        .execute(&mut *conn)
        .await?;
    let (mut days, mut opens, mut closes) = (Vec::new(), Vec::new(), Vec::new());
    for (day, p) in o.calendar.hours.iter() {
        days.push(day.number_from_monday() as i16);
        opens.push(p.open as i16);
        closes.push(p.close as i16);
    }
    sqlx::query(
        "INSERT INTO outlet_hours (outlet_code, weekday, opens, closes) \
         SELECT $1, * FROM UNNEST($2::smallint[], $3::smallint[], $4::smallint[])",
    )
    .bind(&o.code)
    .bind(&days)
    .bind(&opens)
    .bind(&closes)
    .execute(&mut *conn)
    .await?;
    let closed: Vec<NaiveDate> = o.calendar.closed.iter().copied().collect();
    sqlx::query(
        "INSERT INTO outlet_closure (outlet_code, day) SELECT $1, * FROM UNNEST($2::date[])",
    )
    .bind(&o.code)
    .bind(&closed)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn insert_outlet(conn: &mut PgConnection, o: &Outlet) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outlet (code, display_name, group_code, region, province, city, district, \
         street, postal_code, region_code, latitude, longitude, capabilities, brands, phone, \
         utc_offset_minutes, status, status_reason, status_time, version, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22)",
    )
    .bind(&o.code)
    .bind(&o.display_name)
    .bind(&o.group)
    .bind(&o.region)
    .bind(&o.address.province)
    .bind(&o.address.city)
    .bind(&o.address.district)
    .bind(&o.address.street)
    .bind(&o.address.postal_code)
    .bind(&o.address.region_code)
    .bind(o.location.lat)
    .bind(o.location.lng)
    .bind(capability_names(&o.capabilities))
    .bind(&o.brands)
    .bind(&o.phone)
    .bind(o.calendar.offset.local_minus_utc() / 60)
    .bind(o.status.as_str())
    .bind(&o.status_reason)
    .bind(o.status_time)
    .bind(o.version)
    .bind(o.create_time)
    .bind(o.update_time)
    .execute(&mut *conn)
    .await?;
    replace_calendar(conn, o).await
}

/// Writes every mutable column of `o` (and its calendar) over the stored outlet.
pub async fn update_outlet(conn: &mut PgConnection, o: &Outlet) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outlet SET display_name = $2, group_code = $3, region = $4, province = $5, \
         city = $6, district = $7, street = $8, postal_code = $9, region_code = $10, \
         latitude = $11, longitude = $12, capabilities = $13, brands = $14, phone = $15, \
         utc_offset_minutes = $16, status = $17, status_reason = $18, status_time = $19, \
         version = $20, update_time = $21 WHERE code = $1",
    )
    .bind(&o.code)
    .bind(&o.display_name)
    .bind(&o.group)
    .bind(&o.region)
    .bind(&o.address.province)
    .bind(&o.address.city)
    .bind(&o.address.district)
    .bind(&o.address.street)
    .bind(&o.address.postal_code)
    .bind(&o.address.region_code)
    .bind(o.location.lat)
    .bind(o.location.lng)
    .bind(capability_names(&o.capabilities))
    .bind(&o.brands)
    .bind(&o.phone)
    .bind(o.calendar.offset.local_minus_utc() / 60)
    .bind(o.status.as_str())
    .bind(&o.status_reason)
    .bind(o.status_time)
    .bind(o.version)
    .bind(o.update_time)
    .execute(&mut *conn)
    .await?;
    replace_calendar(conn, o).await
}

/// One outlet. `Lock::Share` keeps its status from changing until the caller commits
/// (lead routing), `Lock::Update` serialises writers of the outlet.
pub async fn load_outlet(
    conn: &mut PgConnection,
    code: &str,
    lock: Lock,
) -> Result<Option<Outlet>, sqlx::Error> {
    let row: Option<OutletRow> = sqlx::query_as(&format!(
        "SELECT {OUTLET_COLUMNS} FROM outlet o WHERE o.code = $1{}",
        lock.sql()
    ))
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Outlet::try_from).transpose()
}

/// Status and capabilities of one outlet: the whole of CheckOutletPermission's read.
pub async fn permission_facts(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Option<(Status, Vec<Capability>)>, sqlx::Error> {
    let row: Option<(String, Vec<String>)> =
        sqlx::query_as("SELECT status, capabilities FROM outlet WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((status, caps)) = row else {
        return Ok(None);
    };
    let caps = caps
        .iter()
        .map(|c| Capability::parse(c).ok_or_else(|| bad_value("capability", c)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((
        Status::parse(&status).ok_or_else(|| bad_value("status", &status))?,
        caps,
    )))
}

/// Records a status change (append-only history).
pub async fn record_status_change(
    conn: &mut PgConnection,
    code: &str,
    change: StatusChange,
    (from, to): (Status, Status),
    reason: &str,
    actor: (&str, &str),
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outlet_status_change (outlet_code, change_time, change, from_status, to_status, \
         reason, actor_org, actor_subject) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(code)
    .bind(at)
    .bind(change.as_str())
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(reason)
    .bind(actor.0)
    .bind(actor.1)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// ListOutlets filters; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub region: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub capability: Option<Capability>,
    pub status: Option<Status>,
    pub group: Option<String>,
}

/// A page of outlets by code, after `after`.
pub async fn list_outlets(
    conn: &mut PgConnection,
    f: &Filter,
    after: &str,
    limit: usize,
) -> Result<Vec<Outlet>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {OUTLET_COLUMNS} FROM outlet o WHERE o.code > "
    ));
    q.push_bind(after.to_owned());
    let text_filters = [
        ("o.region", &f.region),
        ("o.province", &f.province),
        ("o.city", &f.city),
        ("o.group_code", &f.group),
    ];
    for (column, value) in text_filters {
        if let Some(value) = value {
            q.push(format!(" AND {column} = ")).push_bind(value.clone());
        }
    }
    if let Some(c) = f.capability {
        q.push(" AND ")
            .push_bind(c.as_str())
            .push(" = ANY (o.capabilities)");
    }
    if let Some(s) = f.status {
        q.push(" AND o.status = ").push_bind(s.as_str());
    }
    q.push(" ORDER BY o.code LIMIT ").push_bind(limit as i64);
    let rows: Vec<OutletRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter().map(Outlet::try_from).collect()
}

/// The centre of a city: the centroid of its outlets' positions (any status), or `None`
/// when no outlet is in that city.
pub async fn city_centre(
    conn: &mut PgConnection,
    province: Option<&str>,
    city: &str,
) -> Result<Option<Point>, sqlx::Error> {
    let row: (Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT avg(latitude), avg(longitude) FROM outlet \
         WHERE city = $1 AND ($2::text IS NULL OR province = $2)",
    )
    .bind(city)
    .bind(province)
    .fetch_one(&mut *conn)
    .await?;
    Ok(match row {
        (Some(lat), Some(lng)) => Some(Point { lat, lng }),
        _ => None,
    })
}

/// Longitude bounds for SQL: a box wrapping across ±180° is searched at every longitude
/// (the latitude range still prefilters; the exact distance decides).
pub fn longitude_range(b: &BoundingBox) -> (f64, f64) {
    if b.lng_min <= b.lng_max {
        (b.lng_min, b.lng_max)
    } else {
        (-180.0, 180.0)
    }
}

/// The `limit` ACTIVE outlets with `capability` nearest to `origin` within `radius_km`,
/// nearest first, with their distances (sql/locate.sql).
pub async fn locate(
    conn: &mut PgConnection,
    origin: Point,
    capability: Capability,
    radius_km: f64,
    limit: usize,
) -> Result<Vec<(Outlet, f64)>, sqlx::Error> {
    let bbox = BoundingBox::around(origin, radius_km);
    let (lng_min, lng_max) = longitude_range(&bbox);
    #[derive(FromRow)]
    struct Located {
        #[sqlx(flatten)]
        outlet: OutletRow,
        distance_km: f64,
    }
    let rows: Vec<Located> = sqlx::query_as(&LOCATE)
        .bind(origin.lat)
        .bind(origin.lng)
        .bind(bbox.lat_min)
        .bind(bbox.lat_max)
        .bind(lng_min)
        .bind(lng_max)
        .bind(capability.as_str())
        .bind(radius_km)
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|r| Ok((Outlet::try_from(r.outlet)?, r.distance_km)))
        .collect()
}

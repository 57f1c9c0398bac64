//! PostgreSQL persistence of the registry. Every function takes the caller's connection or
//! transaction: the handler decides what commits together.

pub mod access_log;
pub mod consent;
pub mod duplicates;
pub mod erasure;
pub mod merge;
pub mod relationship;
mod rows;
pub mod value;

use chrono::Utc;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::{Customer, Profile, matching::phonetic_key};
pub use rows::CustomerRow;

const SELECT_CUSTOMER: &str = include_str!("../../sql/select_customer.sql");
const SELECT_CUSTOMER_LINKED: &str = include_str!("../../sql/select_customer_linked.sql");
const FIND_MATCH: &str = include_str!("../../sql/find_match.sql");

/// The constraint that refuses a second customer with the same external id.
pub const EXTERNAL_ID_UNIQUE: &str = "external_id_pkey";

/// The current time at the database's precision (microseconds), so a record returned
/// from a write equals the same record read back.
pub fn now() -> chrono::DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// Inserts a new customer with its contact points and external ids.
pub async fn insert(conn: &mut PgConnection, customer: &Customer) -> Result<(), sqlx::Error> {
    let p = &customer.profile;
    sqlx::query(
        "INSERT INTO customer (id, kind, family_name, given_name, organization_name, display_name, \
         name_key, province, city, district, street, postal_code, region_code, birthday, \
         preferred_language, source_channel, created_by_org, national_id_hash, national_id_last4, \
         state, version, create_time, update_time, preferred_dealer, preferred_station, name_phonetic) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22, $22, $23, $24, $25)",
    )
    .bind(customer.id)
    .bind(p.kind.as_str())
    .bind(&p.family_name)
    .bind(&p.given_name)
    .bind(&p.organization_name)
    .bind(p.display_name())
    .bind(p.name_key())
    .bind(&p.address.province)
    .bind(&p.address.city)
    .bind(&p.address.district)
    .bind(&p.address.street)
    .bind(&p.address.postal_code)
    .bind(&p.address.region_code)
    .bind(p.birthday)
    .bind(&p.preferred_language)
    .bind(p.source_channel.as_str())
    .bind(&customer.created_by_org)
    .bind(p.national_id.as_ref().map(|n| &n.hash))
    .bind(p.national_id.as_ref().map_or("", |n| n.last4.as_str()))
    .bind(customer.state.as_str())
    .bind(customer.version)
    .bind(customer.create_time)
    .bind(&p.preferred_dealer)
    .bind(&p.preferred_station)
    .bind(phonetic_key(p))
    .execute(&mut *conn)
    .await?;
    insert_children(conn, customer.id, p).await
}

/// Writes phones, e-mails and external ids (after the old ones were deleted on update).
async fn insert_children(
    conn: &mut PgConnection,
    id: Uuid,
    p: &Profile,
) -> Result<(), sqlx::Error> {
    if !p.phones.is_empty() {
        let numbers: Vec<&str> = p.phones.iter().map(|ph| ph.e164.as_str()).collect();
        let kinds: Vec<&str> = p.phones.iter().map(|ph| ph.kind.as_str()).collect();
        sqlx::query(
            "INSERT INTO customer_phone (customer_id, position, e164, kind) \
             SELECT $1, t.ord - 1, t.e164, t.kind \
             FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(e164, kind, ord)",
        )
        .bind(id)
        .bind(numbers)
        .bind(kinds)
        .execute(&mut *conn)
        .await?;
    }
    if !p.emails.is_empty() {
        sqlx::query(
            "INSERT INTO customer_email (customer_id, position, address) \
             SELECT $1, t.ord - 1, t.address FROM unnest($2::text[]) WITH ORDINALITY AS t(address, ord)",
        )
        .bind(id)
        .bind(&p.emails)
        .execute(&mut *conn)
        .await?;
    }
    if !p.external_ids.is_empty() {
        let issuers: Vec<&str> = p.external_ids.iter().map(|x| x.issuer.as_str()).collect();
        let values: Vec<&str> = p.external_ids.iter().map(|x| x.value.as_str()).collect();
        sqlx::query(
            "INSERT INTO external_id (issuer, value, customer_id) \
             SELECT t.issuer, t.value, $1 FROM unnest($2::text[], $3::text[]) AS t(issuer, value)",
        )
        .bind(id)
        .bind(issuers)
        .bind(values)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Reads one customer; `for_update` locks its row until the transaction ends.
pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    for_update: bool,
) -> Result<Option<Customer>, sqlx::Error> {
    let sql = if for_update {
        format!("{SELECT_CUSTOMER} WHERE c.id = $1 FOR UPDATE OF c")
    } else {
        format!("{SELECT_CUSTOMER} WHERE c.id = $1")
    };
    let row: Option<CustomerRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(CustomerRow::into_customer).transpose()
}

/// Reads one customer and whether `organization` has a relationship with it.
pub async fn load_linked(
    conn: &mut PgConnection,
    id: Uuid,
    organization: &str,
) -> Result<Option<(Customer, bool)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Linked {
        #[sqlx(flatten)]
        row: CustomerRow,
        linked: bool,
    }
    let row: Option<Linked> = sqlx::query_as(SELECT_CUSTOMER_LINKED)
        .bind(id)
        .bind(organization)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.row.into_customer()?, r.linked)))
        .transpose()
}

/// Replaces the profile of `customer` and bumps its version; returns the stored record.
pub async fn update(conn: &mut PgConnection, customer: &Customer) -> Result<Customer, sqlx::Error> {
    let p = &customer.profile;
    let now = now();
    sqlx::query(
        "UPDATE customer SET kind = $2, family_name = $3, given_name = $4, organization_name = $5, \
         display_name = $6, name_key = $7, province = $8, city = $9, district = $10, street = $11, \
         postal_code = $12, region_code = $13, birthday = $14, preferred_language = $15, \
         national_id_hash = $16, national_id_last4 = $17, version = version + 1, update_time = $18, \
         preferred_dealer = $19, preferred_station = $20, name_phonetic = $21 WHERE id = $1",
    )
    .bind(customer.id)
    .bind(p.kind.as_str())
    .bind(&p.family_name)
    .bind(&p.given_name)
    .bind(&p.organization_name)
    .bind(p.display_name())
    .bind(p.name_key())
    .bind(&p.address.province)
    .bind(&p.address.city)
    .bind(&p.address.district)
    .bind(&p.address.street)
    .bind(&p.address.postal_code)
    .bind(&p.address.region_code)
    .bind(p.birthday)
    .bind(&p.preferred_language)
    .bind(p.national_id.as_ref().map(|n| &n.hash))
    .bind(p.national_id.as_ref().map_or("", |n| n.last4.as_str()))
    .bind(now)
    .bind(&p.preferred_dealer)
    .bind(&p.preferred_station)
    .bind(phonetic_key(p))
    .execute(&mut *conn)
    .await?;
    for table in ["customer_phone", "customer_email"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = $1"))
            .bind(customer.id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM external_id WHERE customer_id = $1")
        .bind(customer.id)
        .execute(&mut *conn)
        .await?;
    insert_children(conn, customer.id, p).await?;
    Ok(Customer {
        version: customer.version + 1,
        update_time: now,
        ..customer.clone()
    })
}

/// Filters of a customer listing; every `Some` must match.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name_prefix: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub external_id: Option<(String, String)>,
    pub include_inactive: bool,
    /// Only customers this organisation has a relationship with.
    pub linked_to: Option<String>,
}

/// One page of customers in id (= creation) order, after `after`.
///
/// The SQL is assembled from the present filters only, so every filter is a plain indexed
/// predicate; a `$n IS NULL OR …` catch-all would defeat the indexes under generic plans.
///
/// Each customer comes with whether `link_org` has a relationship with it (always false
/// without one), so that a dealer's page is masked from the same round trip.
pub async fn list(
    conn: &mut PgConnection,
    filter: &ListFilter,
    after: Option<Uuid>,
    limit: usize,
    link_org: Option<&str>,
) -> Result<Vec<(Customer, bool)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Listed {
        #[sqlx(flatten)]
        row: CustomerRow,
        linked: bool,
    }
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new("SELECT page.*, ");
    match link_org {
        Some(org) => {
            q.push("(EXISTS (SELECT 1 FROM customer_link l WHERE l.customer_id = page.id AND l.organization = ")
                .push_bind(org)
                .push(") OR EXISTS (SELECT 1 FROM external_id x WHERE x.customer_id = page.id AND x.issuer = ")
                .push_bind(org)
                .push("))");
        }
        None => {
            q.push("false");
        }
    }
    q.push(" AS linked FROM (").push(SELECT_CUSTOMER);
    q.push(" WHERE true");
    if let Some(phone) = &filter.phone {
        q.push(" AND c.id IN (SELECT customer_id FROM customer_phone WHERE e164 = ")
            .push_bind(phone)
            .push(")");
    }
    if let Some(email) = &filter.email {
        q.push(" AND c.id IN (SELECT customer_id FROM customer_email WHERE address = ")
            .push_bind(email)
            .push(")");
    }
    if let Some((issuer, value)) = &filter.external_id {
        q.push(" AND c.id IN (SELECT customer_id FROM external_id WHERE issuer = ")
            .push_bind(issuer)
            .push(" AND value = ")
            .push_bind(value)
            .push(")");
    }
    if let Some(prefix) = &filter.name_prefix {
        q.push(" AND c.name_key LIKE ")
            .push_bind(format!("{}%", escape_like(prefix)));
    }
    if let Some(province) = &filter.province {
        q.push(" AND c.province = ").push_bind(province);
    }
    if let Some(city) = &filter.city {
        q.push(" AND c.city = ").push_bind(city);
    }
    if !filter.include_inactive {
        q.push(" AND c.state = 'ACTIVE'");
    }
    if let Some(org) = &filter.linked_to {
        q.push(" AND (c.id IN (SELECT customer_id FROM customer_link WHERE organization = ")
            .push_bind(org)
            .push(") OR c.id IN (SELECT customer_id FROM external_id WHERE issuer = ")
            .push_bind(org)
            .push("))");
    }
    if let Some(after) = after {
        q.push(" AND c.id > ").push_bind(after);
    }
    q.push(" ORDER BY c.id LIMIT ").push_bind(limit as i64);
    q.push(") page ORDER BY page.id");
    let rows: Vec<Listed> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter()
        .map(|r| Ok((r.row.into_customer()?, r.linked)))
        .collect()
}

/// Escapes LIKE wildcards so that a user's `%` or `_` matches itself.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The identifiers a ResolveCustomer candidate can match on, in canonical form.
#[derive(Debug, Default, Clone)]
pub struct MatchKeys {
    pub external_ids: Vec<(String, String)>,
    pub national_id_hash: Option<Vec<u8>>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
}

/// Which key matched, by the priority numbers of `find_match.sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    ExternalId,
    NationalId,
    Phone,
    Email,
}

impl MatchKeys {
    /// Lock-row keys: one text per identifier, sorted so that concurrent claimers lock in
    /// the same order and cannot deadlock.
    pub fn claim_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .external_ids
            .iter()
            .map(|(i, v)| format!("x:{i}:{v}"))
            .chain(
                self.national_id_hash
                    .iter()
                    .map(|h| format!("n:{}", hex(h))),
            )
            .chain(self.phones.iter().map(|p| format!("p:{p}")))
            .chain(self.emails.iter().map(|e| format!("e:{e}")))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The identifiers of a profile.
    pub fn of(profile: &Profile) -> MatchKeys {
        MatchKeys {
            external_ids: profile
                .external_ids
                .iter()
                .map(|x| (x.issuer.clone(), x.value.clone()))
                .collect(),
            national_id_hash: profile.national_id.as_ref().map(|n| n.hash.clone()),
            phones: profile.phones.iter().map(|p| p.e164.clone()).collect(),
            emails: profile.emails.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.external_ids.is_empty()
            && self.national_id_hash.is_none()
            && self.phones.is_empty()
            && self.emails.is_empty()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The active customer owning one of `keys`, strongest key first.
pub async fn find_match(
    conn: &mut PgConnection,
    keys: &MatchKeys,
) -> Result<Option<(Uuid, Matched, String)>, sqlx::Error> {
    let issuers: Vec<&str> = keys.external_ids.iter().map(|(i, _)| i.as_str()).collect();
    let values: Vec<&str> = keys.external_ids.iter().map(|(_, v)| v.as_str()).collect();
    let row: Option<(i32, Uuid, String)> = sqlx::query_as(FIND_MATCH)
        .bind(issuers)
        .bind(values)
        .bind(keys.national_id_hash.as_deref())
        .bind(&keys.phones)
        .bind(&keys.emails)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(priority, id, value)| {
        let matched = match priority {
            1 => Matched::ExternalId,
            2 => Matched::NationalId,
            3 => Matched::Phone,
            _ => Matched::Email,
        };
        (id, matched, value)
    }))
}

/// Locks one claim row per key until the transaction ends (see the `resolve_claim` table).
pub async fn claim(conn: &mut PgConnection, keys: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO resolve_claim (key) SELECT unnest($1::text[]) ORDER BY 1 \
         ON CONFLICT (key) DO UPDATE SET claimed_at = now()",
    )
    .bind(keys)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that `organization` has a relationship with the customer; false if it had one.
pub async fn link(
    conn: &mut PgConnection,
    id: Uuid,
    organization: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO customer_link (customer_id, organization, reason) VALUES ($1, $2, $3) \
         ON CONFLICT (customer_id, organization) DO NOTHING",
    )
    .bind(id)
    .bind(organization)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which of `ids` `organization` has a relationship with: a link row, or an external id
/// it issued.
pub async fn linked_among(
    conn: &mut PgConnection,
    ids: &[Uuid],
    organization: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT customer_id FROM customer_link WHERE customer_id = ANY ($1) AND organization = $2 \
         UNION SELECT customer_id FROM external_id WHERE customer_id = ANY ($1) AND issuer = $2",
    )
    .bind(ids)
    .bind(organization)
    .fetch_all(&mut *conn)
    .await
}

/// Drops claim rows no resolve can still hold.
pub async fn purge_claims(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM resolve_claim WHERE claimed_at < now() - interval '1 hour'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

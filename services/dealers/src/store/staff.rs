//! Staff members.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::bad_value;
use crate::domain::staff::{Role, StaffMember};

/// The index that refuses a second staff member with the same employee number at one
/// outlet.
pub const EMPLOYEE_NUMBER_UNIQUE: &str = "staff_member_employee_number";

const COLUMNS: &str = "id, outlet_code, display_name, role, employee_number, active, version, create_time, update_time";

type Row = (
    Uuid,
    String,
    String,
    String,
    Option<String>,
    bool,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
);

fn from_row(r: Row) -> Result<StaffMember, sqlx::Error> {
    Ok(StaffMember {
        role: Role::parse(&r.3).ok_or_else(|| bad_value("staff role", &r.3))?,
        id: r.0,
        outlet: r.1,
        display_name: r.2,
        employee_number: r.4,
        active: r.5,
        version: r.6,
        create_time: r.7,
        update_time: r.8,
    })
}

pub async fn insert(conn: &mut PgConnection, s: &StaffMember) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO staff_member ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(s.id)
    .bind(&s.outlet)
    .bind(&s.display_name)
    .bind(s.role.as_str())
    .bind(&s.employee_number)
    .bind(s.active)
    .bind(s.version)
    .bind(s.create_time)
    .bind(s.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn update(conn: &mut PgConnection, s: &StaffMember) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE staff_member SET display_name = $2, role = $3, employee_number = $4, active = $5, \
         version = $6, update_time = $7 WHERE id = $1",
    )
    .bind(s.id)
    .bind(&s.display_name)
    .bind(s.role.as_str())
    .bind(&s.employee_number)
    .bind(s.active)
    .bind(s.version)
    .bind(s.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One staff member; `lock` holds its row for an update.
pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<StaffMember>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM staff_member WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// A page of an outlet's staff in creation order, after `after`.
pub async fn list(
    conn: &mut PgConnection,
    outlet: &str,
    role: Option<Role>,
    active_only: bool,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<StaffMember>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {COLUMNS} FROM staff_member WHERE outlet_code = "
    ));
    q.push_bind(outlet.to_owned());
    if let Some(role) = role {
        q.push(" AND role = ").push_bind(role.as_str());
    }
    if active_only {
        q.push(" AND active");
    }
    if let Some(after) = after {
        q.push(" AND id > ").push_bind(after);
    }
    q.push(" ORDER BY id LIMIT ").push_bind(limit as i64);
    let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter().map(from_row).collect()
}

//! Listing and counting vehicles.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::vehicle::{COLUMNS, Row, corrupt};
use crate::domain::{lifecycle::State, vehicle::Vehicle};

/// Filters of ListVehicles and CountVehicles.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub states: Vec<State>,
    pub holder_outlet: Option<String>,
    pub model_code: Option<String>,
    pub owner: Option<Uuid>,
    pub built_after: Option<DateTime<Utc>>,
    pub built_before: Option<DateTime<Utc>>,
    /// Only vehicles this outlet holds or sold (an outlet's own view).
    pub visible_to_outlet: Option<String>,
}

fn push_filter(q: &mut QueryBuilder<'_, Postgres>, f: &Filter) {
    if !f.states.is_empty() {
        let names: Vec<&str> = f.states.iter().map(|s| s.as_str()).collect();
        q.push(" AND state = ANY(").push_bind(names).push(")");
    }
    if let Some(outlet) = &f.holder_outlet {
        q.push(" AND holder_outlet = ").push_bind(outlet.clone());
    }
    if let Some(model) = &f.model_code {
        q.push(" AND model_code = ").push_bind(model.clone());
    }
    if let Some(owner) = f.owner {
        q.push(" AND owner_id = ").push_bind(owner);
    }
    if let Some(t) = f.built_after {
        q.push(" AND built_at >= ").push_bind(t);
    }
    if let Some(t) = f.built_before {
        q.push(" AND built_at < ").push_bind(t);
    }
    if let Some(outlet) = &f.visible_to_outlet {
        q.push(" AND (holder_outlet = ")
            .push_bind(outlet.clone())
            .push(" OR vin IN (SELECT vin FROM sale WHERE outlet = ")
            .push_bind(outlet.clone())
            .push("))");
    }
}

/// Vehicles in VIN order after `after`.
pub async fn list(
    conn: &mut PgConnection,
    f: &Filter,
    after: &str,
    limit: usize,
) -> Result<Vec<Vehicle>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM vehicle WHERE vin > "));
    q.push_bind(after.to_owned());
    push_filter(&mut q, f);
    q.push(" ORDER BY vin LIMIT ").push_bind(limit as i64);
    let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter().map(Row::into_vehicle).collect()
}

/// Counts by (state, model, holding outlet).
pub async fn count(
    conn: &mut PgConnection,
    f: &Filter,
) -> Result<Vec<(State, String, String, i64)>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT state, model_code, holder_outlet, count(*) FROM vehicle WHERE true",
    );
    push_filter(&mut q, f);
    q.push(" GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    let rows: Vec<(String, String, String, i64)> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                State::parse(&r.0).ok_or_else(|| corrupt("state", &r.0))?,
                r.1,
                r.2,
                r.3,
            ))
        })
        .collect()
}

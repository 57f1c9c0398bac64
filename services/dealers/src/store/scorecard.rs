//! Scorecards: lead figures per outlet and period, computed by SQL over the assignments.

use chrono::NaiveDate;
use sqlx::PgConnection;

/// Lead figures of one outlet for one period.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LeadFigures {
    pub outlet: String,
    pub received: i64,
    pub contacted: i64,
    /// Median seconds from assignment to first contact; `None` when nothing was contacted.
    pub median_contact_secs: Option<f64>,
    pub won: i64,
    pub lost: i64,
    pub rerouted_away: i64,
}

/// The figures of `outlets` (codes) for local days `first..=last`, by outlet code.
/// Unknown codes are left out.
pub async fn lead_figures(
    conn: &mut PgConnection,
    outlets: &[String],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<LeadFigures>, sqlx::Error> {
    sqlx::query_as(include_str!("../../sql/scorecard.sql"))
        .bind(outlets)
        .bind(first)
        .bind(last)
        .fetch_all(&mut *conn)
        .await
}

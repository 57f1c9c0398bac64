//! Scorecards: lead figures per outlet and period, computed by SQL over the assignments,
//! and the figures the event consumers keep per outlet and local day.

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

/// Figures of one outlet for one period from other services' events.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EventFigures {
    pub outlet: String,
    pub vehicles_sold: i64,
    pub surveys: i64,
    pub satisfaction_sum: i64,
    /// `None` when the outlet closed no repair order in the period.
    pub median_turnaround_secs: Option<f64>,
    /// Up to the period's last day.
    pub recall_remedies: i64,
    /// Up to the period's last day.
    pub recall_answerable: i64,
}

/// The event figures of `outlets` (codes) for local days `first..=last`, by outlet code.
pub async fn event_figures(
    conn: &mut PgConnection,
    outlets: &[String],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<EventFigures>, sqlx::Error> {
    sqlx::query_as(include_str!("../../sql/event_figures.sql"))
        .bind(outlets)
        .bind(first)
        .bind(last)
        .fetch_all(&mut *conn)
        .await
}

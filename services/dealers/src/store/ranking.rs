//! One scorecard figure of every outlet in a filter, for ranking: read from the
//! aggregates the event consumers keep (and, for conversion, the lead assignments), in
//! one grouped statement per figure.

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::domain::scorecard::Metric;

/// The outlets of the filter: $3 region, $4 province (NULL: any).
const OUTLETS: &str = "SELECT code, utc_offset_minutes FROM outlet \
     WHERE ($3::text IS NULL OR region = $3) AND ($4::text IS NULL OR province = $4)";

/// Per metric, a statement over `o` (the filter's outlets) and the local days $1..=$2,
/// giving (outlet, figure) for the outlets that have the figure.
fn statement(metric: Metric) -> String {
    let body = match metric {
        // Every outlet has a sales figure (none sold is 0).
        Metric::Sales => {
            "SELECT o.code, coalesce(sum(f.vehicles_sold), 0)::double precision \
             FROM o LEFT JOIN outlet_day_figures f \
               ON f.outlet_code = o.code AND f.day BETWEEN $1 AND $2 \
             GROUP BY o.code"
        }
        Metric::Satisfaction => {
            "SELECT o.code, sum(f.satisfaction_sum)::double precision / sum(f.surveys) \
             FROM o JOIN outlet_day_figures f \
               ON f.outlet_code = o.code AND f.day BETWEEN $1 AND $2 \
             GROUP BY o.code HAVING sum(f.surveys) > 0"
        }
        Metric::RepairTurnaround => {
            "SELECT o.code, percentile_cont(0.5) WITHIN GROUP (ORDER BY r.turnaround_secs) \
             FROM o JOIN repair_fact r ON r.station = o.code AND r.day BETWEEN $1 AND $2 \
             GROUP BY o.code"
        }
        // Everything up to the last day, as on the scorecard; at most 1.
        Metric::RecallCompletion => {
            "SELECT o.code, least(1.0, coalesce(rem.n, 0)::double precision / ans.n) \
             FROM o \
             JOIN (SELECT outlet_code, sum(affected) AS n FROM recall_answerable \
                   WHERE day <= $2 GROUP BY outlet_code) ans ON ans.outlet_code = o.code \
             LEFT JOIN (SELECT outlet_code, sum(recall_remedies) AS n FROM outlet_day_figures \
                        WHERE day <= $2 GROUP BY outlet_code) rem ON rem.outlet_code = o.code"
        }
        // As scorecard.sql: won over received, of the leads assigned in the outlet's
        // local period; outlets that received none are left out.
        Metric::Conversion => {
            "SELECT o.code, \
                    (count(*) FILTER (WHERE a.end_time IS NULL AND l.status = 'WON'))::double precision \
                    / count(*) \
             FROM o JOIN lead_assignment a ON a.outlet_code = o.code \
               AND a.assign_time >= ($1::date::timestamp - make_interval(mins => o.utc_offset_minutes)) AT TIME ZONE 'UTC' \
               AND a.assign_time < (($2::date + 1)::timestamp - make_interval(mins => o.utc_offset_minutes)) AT TIME ZONE 'UTC' \
             JOIN lead l ON l.id = a.lead_id \
             GROUP BY o.code"
        }
    };
    format!("WITH o AS ({OUTLETS}) {body}")
}

/// (outlet code, figure) of every outlet in the filter that has the figure for local
/// days `first..=last`, in no order.
pub async fn figures(
    conn: &mut PgConnection,
    metric: Metric,
    (first, last): (NaiveDate, NaiveDate),
    region: Option<&str>,
    province: Option<&str>,
) -> Result<Vec<(String, f64)>, sqlx::Error> {
    sqlx::query_as(&statement(metric))
        .bind(first)
        .bind(last)
        .bind(region)
        .bind(province)
        .fetch_all(&mut *conn)
        .await
}

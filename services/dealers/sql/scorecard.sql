-- Lead figures of outlets ($1, codes) for the local days $2 to $3 inclusive. Each outlet's
-- period runs from $2 00:00 to ($3 + 1) 00:00 in the outlet's own UTC offset; an
-- assignment belongs to the period in which the outlet received the lead.
-- An assignment with no end_time is the outlet's current one: only those can have been
-- contacted, won or lost there, because a lead moves on only while it is NEW.
WITH period AS (
    SELECT o.code,
           ($2::date::timestamp - make_interval(mins => o.utc_offset_minutes)) AT TIME ZONE 'UTC' AS starts,
           (($3::date + 1)::timestamp - make_interval(mins => o.utc_offset_minutes)) AT TIME ZONE 'UTC' AS ends
    FROM outlet o
    WHERE o.code = ANY ($1::text[])
)
SELECT p.code AS outlet,
       count(a.lead_id) AS received,
       count(*) FILTER (WHERE a.end_time IS NULL AND l.first_contact_time IS NOT NULL) AS contacted,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM l.first_contact_time - a.assign_time))
           FILTER (WHERE a.end_time IS NULL AND l.first_contact_time IS NOT NULL) AS median_contact_secs,
       count(*) FILTER (WHERE a.end_time IS NULL AND l.status = 'WON') AS won,
       count(*) FILTER (WHERE a.end_time IS NULL AND l.status = 'LOST') AS lost,
       count(*) FILTER (WHERE a.end_reason = 'DEADLINE_MISSED') AS rerouted_away
FROM period p
LEFT JOIN lead_assignment a
       ON a.outlet_code = p.code AND a.assign_time >= p.starts AND a.assign_time < p.ends
LEFT JOIN lead l ON l.id = a.lead_id
GROUP BY p.code
ORDER BY p.code

-- The active customer that owns one of the candidate's identifiers, strongest key first:
-- external id (1), national-ID hash (2), phone (3), e-mail (4). Among customers sharing the
-- same key (a household's landline), the oldest wins so that the answer is stable.
SELECT m.priority, m.customer_id, m.value
FROM (
    SELECT 1 AS priority, x.customer_id, x.issuer || ':' || x.value AS value
    FROM external_id x
    JOIN unnest($1::text[], $2::text[]) AS k(issuer, value)
      ON x.issuer = k.issuer AND x.value = k.value
    UNION ALL
    SELECT 2, c.id, ''
    FROM customer c
    WHERE c.national_id_hash = $3::bytea
    UNION ALL
    SELECT 3, p.customer_id, p.e164
    FROM customer_phone p
    WHERE p.e164 = ANY ($4::text[])
    UNION ALL
    SELECT 4, e.customer_id, e.address
    FROM customer_email e
    WHERE e.address = ANY ($5::text[])
) m
JOIN customer c ON c.id = m.customer_id AND c.state = 'ACTIVE'
ORDER BY m.priority, m.customer_id
LIMIT 1

-- One customer row with its contact points and external ids folded into arrays, so that a
-- read is one round trip. Callers append WHERE / ORDER BY / LIMIT.
SELECT c.id, c.kind, c.family_name, c.given_name, c.organization_name,
       c.province, c.city, c.district, c.street, c.postal_code, c.region_code,
       c.birthday, c.preferred_language, c.source_channel, c.created_by_org,
       c.national_id_hash, c.national_id_last4, c.state, c.merged_into, c.version,
       c.create_time, c.update_time, c.preferred_dealer, c.preferred_station,
       ARRAY(SELECT p.e164 FROM customer_phone p WHERE p.customer_id = c.id ORDER BY p.position) AS phone_numbers,
       ARRAY(SELECT p.kind FROM customer_phone p WHERE p.customer_id = c.id ORDER BY p.position) AS phone_kinds,
       ARRAY(SELECT e.address FROM customer_email e WHERE e.customer_id = c.id ORDER BY e.position) AS emails,
       -- issuer and value arrays share one ORDER BY so that they pair up
       ARRAY(SELECT x.issuer FROM external_id x WHERE x.customer_id = c.id ORDER BY x.issuer, x.value) AS external_issuers,
       ARRAY(SELECT x.value FROM external_id x WHERE x.customer_id = c.id ORDER BY x.issuer, x.value) AS external_values
FROM customer c

-- select_customer.sql for one customer plus whether organisation $2 has a relationship
-- with it (a link row or an external id it issued), so that a dealer's read is still one
-- round trip. Must list the same columns as select_customer.sql, then `linked`.
SELECT c.id, c.kind, c.family_name, c.given_name, c.organization_name,
       c.province, c.city, c.district, c.street, c.postal_code, c.region_code,
       c.birthday, c.preferred_language, c.source_channel, c.created_by_org,
       c.national_id_hash, c.national_id_last4, c.state, c.merged_into, c.version,
       c.create_time, c.update_time, c.preferred_dealer, c.preferred_station,
       ARRAY(SELECT p.e164 FROM customer_phone p WHERE p.customer_id = c.id ORDER BY p.position) AS phone_numbers,
       ARRAY(SELECT p.kind FROM customer_phone p WHERE p.customer_id = c.id ORDER BY p.position) AS phone_kinds,
       ARRAY(SELECT e.address FROM customer_email e WHERE e.customer_id = c.id ORDER BY e.position) AS emails,
       ARRAY(SELECT x.issuer FROM external_id x WHERE x.customer_id = c.id ORDER BY x.issuer, x.value) AS external_issuers,
       ARRAY(SELECT x.value FROM external_id x WHERE x.customer_id = c.id ORDER BY x.issuer, x.value) AS external_values,
       (EXISTS (SELECT 1 FROM customer_link l WHERE l.customer_id = c.id AND l.organization = $2)
        OR EXISTS (SELECT 1 FROM external_id x WHERE x.customer_id = c.id AND x.issuer = $2)) AS linked
FROM customer c
WHERE c.id = $1

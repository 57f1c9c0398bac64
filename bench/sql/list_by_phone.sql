-- ListCustomers(phone, page_size = 10) as a dealer: store::list with only the phone filter,
-- active customers only, LIMIT page_size + 1 (the handler fetches one more to know if a page
-- follows), and whether the dealer (D1001, the dev DEALER_TOKEN's organisation) has a
-- relationship with each customer, in the same round trip.
-- Customer n's mobile is +8613 <n % 10> <n in 8 digits> (see bench/src/lib.rs).
\set n random(1, :customers)
\set d :n % 10
SELECT page.*,
       (EXISTS (SELECT 1 FROM customer_link l WHERE l.customer_id = page.id AND l.organization = 'D1001')
        OR EXISTS (SELECT 1 FROM external_id x WHERE x.customer_id = page.id AND x.issuer = 'D1001')) AS linked
FROM (SELECT c.id, c.kind, c.family_name, c.given_name, c.organization_name,
       c.province, c.city, c.district, c.street, c.postal_code, c.region_code,
       c.birthday, c.preferred_language, c.source_channel, c.created_by_org,
       c.national_id_hash, c.national_id_last4, c.state, c.merged_into, c.version,
       c.create_time, c.update_time, c.preferred_dealer, c.preferred_station,
       ARRAY(SELECT p.e164 FROM customer_phone p WHERE p.customer_id = c.id ORDER BY p.position) AS phone_numbers,
       ARRAY(SELECT p.kind FROM customer_phone p WHERE p.customer_id = c.id ORDER BY p.position) AS phone_kinds,
       ARRAY(SELECT e.address FROM customer_email e WHERE e.customer_id = c.id ORDER BY e.position) AS emails,
       ARRAY(SELECT x.issuer FROM external_id x WHERE x.customer_id = c.id ORDER BY x.issuer, x.value) AS external_issuers,
       ARRAY(SELECT x.value FROM external_id x WHERE x.customer_id = c.id ORDER BY x.issuer, x.value) AS external_values
FROM customer c
WHERE true AND c.id IN (SELECT customer_id FROM customer_phone WHERE e164 = '+8613' || :d || lpad(:n::text, 8, '0')) AND c.state = 'ACTIVE' ORDER BY c.id LIMIT 11) page
ORDER BY page.id;

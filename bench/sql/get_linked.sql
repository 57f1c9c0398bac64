-- GetCustomer as a dealer or station: store::load_linked = sql/select_customer_linked.sql
-- (the record plus whether organisation :org has a link to it, in one round trip).
-- Run with: pgbench -n -M prepared -D customers=N -f get_linked.sql (search_path=customers).
-- Customer n's id is 00000000-0000-7000-8000-<n in 12 digits> (see bench/src/lib.rs); the
-- dealer is D1001, the organisation of the dev DEALER_TOKEN that loadgen uses.
\set n random(1, :customers)
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
       (EXISTS (SELECT 1 FROM customer_link l WHERE l.customer_id = c.id AND l.organization = 'D1001')
        OR EXISTS (SELECT 1 FROM external_id x WHERE x.customer_id = c.id AND x.issuer = 'D1001')) AS linked
FROM customer c
WHERE c.id = ('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid;

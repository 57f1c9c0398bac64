-- ResolveCustomer of an existing customer, statement for statement as api::resolve runs it
-- for a dealer (D1001) sending name + mobile with a fresh request_id:
--   idempotency::begin (INSERT … ON CONFLICT DO NOTHING), store::find_match (sql/find_match.sql
--   with no external ids, no national id, one phone, no e-mail), store::load, store::link,
--   idempotency::finish (UPDATE with the encoded response, ~300 bytes here), COMMIT.
-- Request ids are unique per call: client id + a 63-bit random number.
\set n random(1, :customers)
\set d :n % 10
\set r random(1, 9000000000000000000)
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES ('D1001', 'pgbench-' || :client_id || '-' || :r, 'ResolveCustomer', sha256(('pgbench' || :r)::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT m.priority, m.customer_id AS cid, m.value
FROM (
    SELECT 1 AS priority, x.customer_id, x.issuer || ':' || x.value AS value
    FROM external_id x
    JOIN unnest('{}'::text[], '{}'::text[]) AS k(issuer, value)
      ON x.issuer = k.issuer AND x.value = k.value
    UNION ALL
    SELECT 2, c.id, ''
    FROM customer c
    WHERE c.national_id_hash = NULL::bytea
    UNION ALL
    SELECT 3, p.customer_id, p.e164
    FROM customer_phone p
    WHERE p.e164 = ANY (ARRAY['+8613' || :d || lpad(:n::text, 8, '0')]::text[])
    UNION ALL
    SELECT 4, e.customer_id, e.address
    FROM customer_email e
    WHERE e.address = ANY ('{}'::text[])
) m
JOIN customer c ON c.id = m.customer_id AND c.state = 'ACTIVE'
ORDER BY m.priority, m.customer_id
LIMIT 1 \gset
SELECT c.id, c.kind, c.family_name, c.given_name, c.organization_name,
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
WHERE c.id = :cid;
INSERT INTO customer_link (customer_id, organization, reason) VALUES (:cid, 'D1001', 'RESOLVED')
ON CONFLICT (customer_id, organization) DO NOTHING;
UPDATE idempotency SET response = decode(repeat('5a', 300), 'hex'), resource = 'customers/' || :cid
WHERE scope = 'D1001' AND request_id = 'pgbench-' || :client_id || '-' || :r;
COMMIT;

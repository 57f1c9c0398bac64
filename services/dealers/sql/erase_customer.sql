-- Drops the dealer network's copies of an erased customer's personal data ($1): the free
-- text of their leads (notes, lost reasons, which may name or quote them), the precise
-- place they asked from (rounded to a tenth of a degree, about 10 km; the city stays) and
-- the saved responses of requests about those leads, which repeat all of it. Ids,
-- outlets, times, statuses and routing history stay (not personal data once unlinked).
-- Leads already erased are left as they are, so applying it again changes nothing.
WITH saved AS (
    DELETE FROM idempotency
    WHERE resource IN (SELECT 'leads/' || id FROM lead WHERE customer_id = $1)
)
UPDATE lead
SET notes = '',
    lost_reason = CASE WHEN lost_reason IS NULL THEN NULL ELSE '[erased]' END,
    latitude = round(latitude::numeric, 1)::double precision,
    longitude = round(longitude::numeric, 1)::double precision,
    version = version + 1
WHERE customer_id = $1
  AND (notes <> ''
       OR lost_reason IS DISTINCT FROM (CASE WHEN lost_reason IS NULL THEN NULL ELSE '[erased]' END)
       OR latitude <> round(latitude::numeric, 1)::double precision
       OR longitude <> round(longitude::numeric, 1)::double precision)

-- Merges, kept with everything needed to undo them exactly.
CREATE TABLE merge_record (
    id             uuid PRIMARY KEY,
    survivor_id    uuid NOT NULL REFERENCES customer (id),
    duplicate_ids  uuid[] NOT NULL,
    merged_at      timestamptz NOT NULL,
    merged_by      text NOT NULL,
    merged_by_subject text NOT NULL,
    -- The survivor's version right after the merge: an unmerge is refused once it moved on.
    survivor_version bigint NOT NULL,
    unmerged_at    timestamptz,
    unmerged_by    text
);
CREATE INDEX merge_record_survivor ON merge_record (survivor_id);

-- Every involved customer row as it was before the merge. Must keep the columns of
-- `customer`: a migration that adds a column to `customer` adds it here too (and to
-- store::merge::CUSTOMER_COLUMNS).
CREATE TABLE merge_customer (LIKE customer, merge_id uuid NOT NULL REFERENCES merge_record (id));
CREATE INDEX merge_customer_merge ON merge_customer (merge_id);

-- The survivor's contact points and consents before the merge (the merge rewrites them).
CREATE TABLE merge_phone (LIKE customer_phone, merge_id uuid NOT NULL REFERENCES merge_record (id));
CREATE TABLE merge_email (LIKE customer_email, merge_id uuid NOT NULL REFERENCES merge_record (id));
CREATE TABLE merge_consent (LIKE consent, merge_id uuid NOT NULL REFERENCES merge_record (id));
CREATE INDEX merge_phone_merge ON merge_phone (merge_id);
CREATE INDEX merge_email_merge ON merge_email (merge_id);
CREATE INDEX merge_consent_merge ON merge_consent (merge_id);

-- External ids moved from a duplicate to the survivor, relationships copied onto the
-- survivor, and organisation links the merge added to it.
CREATE TABLE merge_external_id (
    merge_id      uuid NOT NULL REFERENCES merge_record (id),
    issuer        text NOT NULL,
    value         text NOT NULL,
    from_customer uuid NOT NULL
);
CREATE INDEX merge_external_id_merge ON merge_external_id (merge_id);
CREATE TABLE merge_added_relationship (
    merge_id        uuid NOT NULL REFERENCES merge_record (id),
    relationship_id uuid NOT NULL
);
CREATE INDEX merge_added_relationship_merge ON merge_added_relationship (merge_id);
CREATE TABLE merge_added_link (
    merge_id     uuid NOT NULL REFERENCES merge_record (id),
    organization text NOT NULL
);
CREATE INDEX merge_added_link_merge ON merge_added_link (merge_id);

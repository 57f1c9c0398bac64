-- References to customers this service re-pointed when the registry merged them, kept
-- until the merge is undone (CustomerUnmerged puts each one back).
CREATE TABLE customer_repoint (
    merge_id      uuid NOT NULL,
    reference     text NOT NULL,     -- '<table>.<column>'
    row_key       text NOT NULL,     -- the row's key columns as text, '/'-joined
    from_customer uuid NOT NULL,
    survivor      uuid NOT NULL,
    PRIMARY KEY (merge_id, reference, row_key)
);
CREATE INDEX vehicle_reserved_for ON vehicle (reserved_for) WHERE reserved_for IS NOT NULL;
CREATE INDEX sale_customer ON sale (customer_id);
CREATE INDEX ownership_customer ON ownership (customer_id);

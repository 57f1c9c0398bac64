-- The hotline's share of the platform's events: references to customers re-pointed when
-- the registry merges them, and cases the operations desk opens about a vehicle alone.

-- References to customers this service re-pointed when the registry merged them, kept
-- until the merge is undone (CustomerUnmerged puts each one back).
CREATE TABLE customer_repoint (
    merge_id      uuid NOT NULL,
    reference     text NOT NULL,     -- '<table>.<column>'
    row_key       text NOT NULL,     -- the row's key as text
    from_customer uuid NOT NULL,
    survivor      uuid NOT NULL,
    PRIMARY KEY (merge_id, reference, row_key)
);

-- A suspected odometer rollback is a matter of the car, not of a customer: such cases
-- name the vehicle and may have no customer. Every case still names one or the other.
ALTER TABLE support_case ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE support_case ADD CONSTRAINT support_case_customer_or_vehicle
    CHECK (customer_id IS NOT NULL OR vin <> '');

-- Defaults of the new kind, tighter than the others' (a rolled-back odometer may be a
-- fraud in progress at an outlet): urgent 30 min / 4 h … low 4 h / 2 days.
INSERT INTO sla_policy
SELECT 'ODOMETER_ROLLBACK', p.priority, p.first_minutes, p.resolution_minutes, false
FROM (VALUES ('URGENT', 30, 240), ('HIGH', 60, 480), ('NORMAL', 120, 1440), ('LOW', 240, 2880))
    AS p(priority, first_minutes, resolution_minutes)
ON CONFLICT DO NOTHING;

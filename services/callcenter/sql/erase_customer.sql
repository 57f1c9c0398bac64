-- Drops the call center's copies of an erased customer's personal data ($1): the phone
-- numbers and free text of their callbacks, call attempts, interactions (and of other
-- interactions on the same numbers), cases, case notes and survey comments; their
-- numbers on the do-not-call list; and the saved responses of their requests. Ids,
-- times, outcomes and scores stay (the history is not personal data once unlinked).
WITH phones AS (
    SELECT phone FROM callback WHERE customer_id = $1 AND phone <> ''
    UNION
    SELECT phone FROM interaction WHERE customer_id = $1 AND phone <> ''
),
names AS (
    SELECT 'callbacks/' || id FROM callback WHERE customer_id = $1
    UNION ALL SELECT 'cases/' || id FROM support_case WHERE customer_id = $1
    UNION ALL SELECT 'interactions/' || id FROM interaction WHERE customer_id = $1
    UNION ALL SELECT 'surveyResponses/' || id FROM survey_response WHERE customer_id = $1
),
saved AS (
    DELETE FROM idempotency WHERE resource IN (SELECT * FROM names)
),
attempts AS (
    UPDATE call_attempt SET notes = ''
    WHERE callback_id IN (SELECT id FROM callback WHERE customer_id = $1) AND notes <> ''
),
callbacks AS (
    -- Calls not yet made are stopped: there is nobody left to call.
    UPDATE callback SET phone = '', reason = '[erased]', stop_note = '',
        status = CASE WHEN status IN ('PENDING', 'CLAIMED') THEN 'STOPPED' ELSE status END,
        stop_reason = CASE WHEN status IN ('PENDING', 'CLAIMED') THEN 'CUSTOMER_ERASED'
                           ELSE stop_reason END,
        claimed_by = '', version = version + 1
    WHERE customer_id = $1
),
interactions AS (
    UPDATE interaction SET phone = '', notes = ''
    WHERE customer_id = $1 OR phone IN (SELECT phone FROM phones)
),
do_not_call AS (
    DELETE FROM do_not_call WHERE phone IN (SELECT phone FROM phones)
),
notes AS (
    UPDATE case_note SET text = '[erased]'
    WHERE case_id IN (SELECT id FROM support_case WHERE customer_id = $1)
),
cases AS (
    UPDATE support_case SET subject = '[erased]', description = ''
    WHERE customer_id = $1
)
UPDATE survey_response SET comments = '' WHERE customer_id = $1

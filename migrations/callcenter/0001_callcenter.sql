-- The hotline's own data. Customers, vehicles and outlets are other services' and are
-- referred to by id only (no cross-schema keys).

CREATE TABLE idempotency (
    scope        text NOT NULL,
    request_id   text NOT NULL,
    method       text NOT NULL,
    request_hash bytea NOT NULL,
    response     bytea,
    resource     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, request_id)
);
CREATE INDEX idempotency_created_at ON idempotency (created_at);

-- SLA targets per case type × priority, in open minutes of the case's calendar.
CREATE TABLE sla_policy (
    case_type              text NOT NULL,
    priority               text NOT NULL,
    first_response_minutes integer NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes     integer NOT NULL CHECK (resolution_minutes >= first_response_minutes),
    outlet_calendar        boolean NOT NULL,
    PRIMARY KEY (case_type, priority)
);
-- Defaults: urgent 30 min / 8 h … low 8 h / 5 days (hotline hours 08:00–20:00).
INSERT INTO sla_policy
SELECT t, p.priority, p.first_minutes, p.resolution_minutes, false
FROM unnest(ARRAY['INQUIRY', 'SALES_LEAD', 'SERVICE_REQUEST', 'COMPLAINT', 'TECHNICAL_SUPPORT', 'RECALL']) AS t
CROSS JOIN (VALUES ('URGENT', 30, 480), ('HIGH', 60, 1440), ('NORMAL', 240, 2880), ('LOW', 480, 7200))
    AS p(priority, first_minutes, resolution_minutes);

-- Closed dates of the hotline's calendar (its hours are configuration).
CREATE TABLE hotline_holiday (
    day  date PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE support_case (
    id                   uuid PRIMARY KEY,
    case_type            text NOT NULL,
    priority             text NOT NULL CHECK (priority IN ('LOW', 'NORMAL', 'HIGH', 'URGENT')),
    status               text NOT NULL CHECK (status IN
                             ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'RESOLVED', 'CLOSED', 'REOPENED')),
    customer_id          uuid NOT NULL,
    vin                  text NOT NULL DEFAULT '',
    outlet               text NOT NULL DEFAULT '',
    team                 text NOT NULL,
    assignee             text NOT NULL DEFAULT '',
    subject              text NOT NULL,
    description          text NOT NULL DEFAULT '',
    category             text NOT NULL DEFAULT '',
    model_code           text NOT NULL DEFAULT '',
    lead                 text NOT NULL DEFAULT '',
    calendar             text NOT NULL,           -- HOTLINE or an outlet code
    first_response_warn  timestamptz NOT NULL,
    first_response_due   timestamptz NOT NULL,
    first_response_at    timestamptz,
    resolution_warn      timestamptz NOT NULL,
    resolution_due       timestamptz NOT NULL,
    paused_at            timestamptz,             -- set while WAITING_ON_CUSTOMER
    next_check_at        timestamptz,             -- when the SLA state can next change; NULL when it cannot
    sla_state            text NOT NULL CHECK (sla_state IN ('OK', 'WARNING', 'BREACHED')),
    escalations          integer NOT NULL DEFAULT 0,
    created_by           text NOT NULL,
    create_time          timestamptz NOT NULL,
    update_time          timestamptz NOT NULL,
    resolve_time         timestamptz,
    close_time           timestamptz,
    version              bigint NOT NULL DEFAULT 1
);
CREATE INDEX support_case_customer ON support_case (customer_id, create_time);
CREATE INDEX support_case_outlet ON support_case (outlet, create_time) WHERE outlet <> '';
CREATE INDEX support_case_created ON support_case (create_time);
-- The sweeper looks only at clocks whose state can change.
CREATE INDEX support_case_next_check ON support_case (next_check_at) WHERE next_check_at IS NOT NULL;

CREATE TABLE case_note (
    case_id      uuid NOT NULL REFERENCES support_case (id),
    sequence     integer NOT NULL,
    at           timestamptz NOT NULL,
    author       text NOT NULL,
    organization text NOT NULL,
    text         text NOT NULL,
    PRIMARY KEY (case_id, sequence)
);

CREATE TABLE interaction (
    id          uuid PRIMARY KEY,
    direction   text NOT NULL CHECK (direction IN ('INBOUND', 'OUTBOUND')),
    channel     text NOT NULL CHECK (channel IN ('PHONE', 'SMS', 'EMAIL', 'WEB', 'CHAT')),
    agent       text NOT NULL,
    customer_id uuid,
    vin         text NOT NULL DEFAULT '',
    case_id     uuid REFERENCES support_case (id),
    phone       text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    duration_s  integer NOT NULL CHECK (duration_s >= 0),
    disposition text NOT NULL,
    notes       text NOT NULL DEFAULT ''
);
CREATE INDEX interaction_customer ON interaction (customer_id, started_at) WHERE customer_id IS NOT NULL;
CREATE INDEX interaction_case ON interaction (case_id, started_at) WHERE case_id IS NOT NULL;

CREATE TABLE do_not_call (
    phone      text PRIMARY KEY,
    reason     text NOT NULL,
    added_by   text NOT NULL,
    added_at   timestamptz NOT NULL
);

-- Callbacks. `due_at` is when the row is next eligible for a claim: the next attempt
-- while PENDING, the lease's end while CLAIMED (a lapsed claim returns to the queue).
CREATE TABLE callback (
    id                uuid PRIMARY KEY,
    customer_id       uuid NOT NULL,
    phone             text NOT NULL,
    reason            text NOT NULL,
    purpose           text NOT NULL CHECK (purpose IN
                          ('CUSTOMER_REQUEST', 'CASE_FOLLOW_UP', 'SURVEY', 'SERVICE_REMINDER', 'MARKETING')),
    case_id           uuid REFERENCES support_case (id),
    repair_order      text NOT NULL DEFAULT '',
    outlet            text NOT NULL DEFAULT '',
    status            text NOT NULL CHECK (status IN ('PENDING', 'CLAIMED', 'COMPLETED', 'STOPPED')),
    due_at            timestamptz NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    last_outcome      text NOT NULL DEFAULT '',
    stop_reason       text NOT NULL DEFAULT '',
    stop_note         text NOT NULL DEFAULT '',   -- free text of a cancellation
    claimed_by        text NOT NULL DEFAULT '',
    max_attempts      integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 20),
    expire_at         timestamptz NOT NULL,
    calling_start     integer NOT NULL CHECK (calling_start BETWEEN 0 AND 23),
    calling_end       integer NOT NULL CHECK (calling_end BETWEEN 1 AND 24 AND calling_end > calling_start),
    created_by        text NOT NULL,
    create_time       timestamptz NOT NULL,
    version           bigint NOT NULL DEFAULT 1
);
CREATE INDEX callback_queue ON callback (due_at) WHERE status IN ('PENDING', 'CLAIMED');
CREATE INDEX callback_customer ON callback (customer_id, due_at);
CREATE INDEX callback_phone_open ON callback (phone) WHERE status IN ('PENDING', 'CLAIMED');

CREATE TABLE call_attempt (
    callback_id uuid NOT NULL REFERENCES callback (id),
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL,
    agent       text NOT NULL,
    outcome     text NOT NULL,
    notes       text NOT NULL DEFAULT '',
    PRIMARY KEY (callback_id, attempt)
);

CREATE TABLE survey_response (
    id           uuid PRIMARY KEY,
    case_id      uuid REFERENCES support_case (id),
    repair_order text,
    customer_id  uuid NOT NULL,
    outlet       text NOT NULL DEFAULT '',
    technician   text NOT NULL DEFAULT '',
    satisfaction integer NOT NULL CHECK (satisfaction BETWEEN 1 AND 5),
    nps          integer NOT NULL CHECK (nps BETWEEN 0 AND 10),
    comments     text NOT NULL DEFAULT '',
    recorded_by  text NOT NULL,
    create_time  timestamptz NOT NULL,
    CHECK ((case_id IS NULL) <> (repair_order IS NULL))
);
CREATE UNIQUE INDEX survey_response_case ON survey_response (case_id) WHERE case_id IS NOT NULL;
CREATE UNIQUE INDEX survey_response_repair ON survey_response (repair_order) WHERE repair_order IS NOT NULL;
CREATE INDEX survey_response_time ON survey_response (create_time);

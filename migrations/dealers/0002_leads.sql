-- Leads, their assignments to outlets, and what the sweeper and scorecards read.

CREATE TABLE lead (
    id                   uuid PRIMARY KEY,  -- UUIDv7: creation order, the paging key
    customer_id          uuid NOT NULL,     -- a customer of the registry
    interest             text NOT NULL CHECK (interest IN ('BUY', 'TEST_DRIVE', 'SERVICE', 'TRADE_IN')),
    -- The capability an outlet needs for the lead (SALES or SERVICE, from the interest),
    -- kept so that the sweeper can find leads whose outlet lost it in one join.
    capability           text NOT NULL CHECK (capability IN ('SALES', 'SERVICE')),
    model_code           text,
    source               text NOT NULL CHECK (source IN ('HOTLINE', 'WEB', 'CAMPAIGN')),
    campaign             text,
    preferred_outlet     text,
    latitude             double precision NOT NULL,
    longitude            double precision NOT NULL,
    city                 text NOT NULL,
    notes                text NOT NULL,
    response_window_secs integer NOT NULL CHECK (response_window_secs > 0),
    status               text NOT NULL
        CHECK (status IN ('NEW', 'CONTACTED', 'APPOINTMENT', 'WON', 'LOST')),
    outlet_code          text NOT NULL REFERENCES outlet (code),
    respond_before       timestamptz NOT NULL,
    escalate_time        timestamptz,
    staff_id             uuid REFERENCES staff_member (id),
    first_contact_time   timestamptz,
    appointment_time     timestamptz,
    lost_reason          text,
    close_time           timestamptz,
    created_by           text NOT NULL,
    version              bigint NOT NULL,
    create_time          timestamptz NOT NULL,
    update_time          timestamptz NOT NULL
);
-- The sweeper's work list: uncontacted leads still being routed, by deadline.
CREATE INDEX lead_due ON lead (respond_before) WHERE status = 'NEW' AND escalate_time IS NULL;
-- An outlet's load (open leads), counted by the router.
CREATE INDEX lead_open_by_outlet ON lead (outlet_code)
    WHERE status IN ('NEW', 'CONTACTED', 'APPOINTMENT');
-- ListLeads by outlet (and status), and by customer, in creation order.
CREATE INDEX lead_outlet ON lead (outlet_code, id);
CREATE INDEX lead_customer ON lead (customer_id, id);

-- Every assignment of a lead to an outlet, in order; the current one has no end_time.
CREATE TABLE lead_assignment (
    lead_id        uuid NOT NULL REFERENCES lead (id),
    seq            integer NOT NULL CHECK (seq >= 1),
    outlet_code    text NOT NULL REFERENCES outlet (code),
    reason         text NOT NULL
        CHECK (reason IN ('PREFERRED', 'NEAREST', 'DEADLINE_MISSED', 'OUTLET_UNAVAILABLE', 'MANUAL')),
    assign_time    timestamptz NOT NULL,
    respond_before timestamptz NOT NULL,
    distance_km    double precision NOT NULL,
    end_time       timestamptz,
    -- How the outlet lost the lead: the reason of the next assignment.
    end_reason     text,
    PRIMARY KEY (lead_id, seq)
);
-- Scorecards: an outlet's assignments in a period.
CREATE INDEX lead_assignment_outlet ON lead_assignment (outlet_code, assign_time);

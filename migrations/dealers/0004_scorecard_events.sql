-- Scorecard figures from other services' events (sales and repair orders from the
-- vehicle service, surveys from the call center), and the registry's merges as applied
-- to leads. Each event's object is kept as one fact row keyed by its id, and the per
-- (outlet, local day) aggregate is added to only when that row was new: an event applied
-- twice changes nothing. Days are the outlet's local days (its utc_offset_minutes when
-- the event applied), like the lead figures'.

-- Per outlet and local day: what the scorecards sum over a period.
CREATE TABLE outlet_day_figures (
    outlet_code      text   NOT NULL,
    day              date   NOT NULL,
    vehicles_sold    bigint NOT NULL DEFAULT 0,
    surveys          bigint NOT NULL DEFAULT 0,
    satisfaction_sum bigint NOT NULL DEFAULT 0,
    -- Recall remedies the outlet performed (recall campaigns on its closed orders).
    recall_remedies  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (outlet_code, day)
);
-- Rankings read one period across every outlet.
CREATE INDEX outlet_day_figures_day ON outlet_day_figures (day, outlet_code);

-- One row per sale (a car can be sold again later, at another time).
CREATE TABLE sale_fact (
    vin         text        NOT NULL,
    sell_time   timestamptz NOT NULL,
    outlet_code text        NOT NULL,
    day         date        NOT NULL,
    PRIMARY KEY (vin, sell_time)
);

-- One row per survey answer that rated an outlet.
CREATE TABLE survey_fact (
    survey_response text     NOT NULL PRIMARY KEY,  -- "surveyResponses/{id}"
    outlet_code     text     NOT NULL,
    day             date     NOT NULL,
    satisfaction    smallint NOT NULL CHECK (satisfaction BETWEEN 1 AND 5)
);

-- One row per closed repair order: its turnaround, kept per order so that a period's
-- median is exact.
CREATE TABLE repair_fact (
    repair_order    text             NOT NULL PRIMARY KEY,  -- "repairOrders/{id}"
    station         text             NOT NULL,
    day             date             NOT NULL,  -- the local day it was closed
    turnaround_secs double precision NOT NULL CHECK (turnaround_secs >= 0)
);
-- A station's orders of a period, index-only (the scorecard, and the ranking per outlet).
CREATE INDEX repair_fact_station_day ON repair_fact (station, day) INCLUDE (turnaround_secs);

-- One row per car remedied for a campaign (a car is remedied once per campaign).
CREATE TABLE recall_remedy (
    campaign_code text NOT NULL,
    vin           text NOT NULL,
    station       text NOT NULL,
    day           date NOT NULL,
    repair_order  text NOT NULL,
    PRIMARY KEY (campaign_code, vin)
);

-- Per campaign, the affected cars each outlet was answerable for when it was created
-- (the car's holder, else its seller): the recall completion rate's denominator.
CREATE TABLE recall_answerable (
    campaign_code text   NOT NULL,
    outlet_code   text   NOT NULL,
    affected      bigint NOT NULL CHECK (affected > 0),
    day           date   NOT NULL,  -- the outlet's local day the campaign was created
    PRIMARY KEY (campaign_code, outlet_code)
);
CREATE INDEX recall_answerable_outlet ON recall_answerable (outlet_code, day);

-- Lead references re-pointed by a customer merge, so that an unmerge restores exactly
-- these rows.
CREATE TABLE customer_repoint (
    merge_id      uuid NOT NULL,
    reference     text NOT NULL,     -- '<table>.<column>'
    row_key       text NOT NULL,     -- the row's key columns as text, '/'-joined
    from_customer uuid NOT NULL,
    survivor      uuid NOT NULL,
    PRIMARY KEY (merge_id, reference, row_key)
);

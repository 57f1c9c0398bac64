-- Recall campaigns and the vehicles each one affects. The affected set is materialised
-- when the campaign is created and grows when a matching car is built or a recalled part
-- batch is fitted later.
CREATE TABLE recall_campaign (
    code          text PRIMARY KEY,
    title         text NOT NULL,
    description   text NOT NULL,
    remedy        text NOT NULL,
    selection     text NOT NULL CHECK (selection IN ('VIN_LIST', 'MODEL_BUILD_WINDOW', 'PART_BATCH')),
    model_codes   text[] NOT NULL DEFAULT '{}',
    build_from    timestamptz,
    build_to      timestamptz,
    part_number   text,
    part_batch    text,
    status        text NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
    create_time   timestamptz NOT NULL,
    close_time    timestamptz,
    created_by    text NOT NULL
);
CREATE INDEX recall_campaign_open_window ON recall_campaign (status) WHERE selection = 'MODEL_BUILD_WINDOW';

CREATE TABLE recall_vehicle (
    campaign_code   text NOT NULL REFERENCES recall_campaign (code),
    vin             text NOT NULL REFERENCES vehicle (vin),
    completed_at    timestamptz,
    completed_by    text,               -- the outlet whose repair order carried the remedy
    repair_order_id uuid REFERENCES repair_order (id),
    PRIMARY KEY (campaign_code, vin)
);
CREATE INDEX recall_vehicle_vin ON recall_vehicle (vin);

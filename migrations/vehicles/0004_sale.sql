-- Sales (one per vehicle) and the owners a vehicle has had.
CREATE TABLE sale (
    vin            text PRIMARY KEY REFERENCES vehicle (vin),
    outlet         text NOT NULL,
    customer_id    uuid NOT NULL,
    currency_code  text NOT NULL,
    price_minor    bigint NOT NULL CHECK (price_minor > 0),
    list_minor     bigint,                 -- the maker's price that day, if listed
    sales_person   text NOT NULL,
    sale_type      text NOT NULL CHECK (sale_type IN ('RETAIL', 'FLEET', 'DEMO')),
    sold_at        timestamptz NOT NULL,
    delivered_at   timestamptz,
    delivery_odometer_km bigint
);

CREATE TABLE ownership (
    vin         text NOT NULL REFERENCES vehicle (vin),
    sequence    integer NOT NULL,
    customer_id uuid NOT NULL,
    since       date NOT NULL,
    PRIMARY KEY (vin, sequence)
);

-- Birthday greetings: who has been announced in which year, so that a restart, a second
-- pass on the same day or a second replica announces each birthday once.
CREATE TABLE birthday_announcement (
    customer_id  uuid NOT NULL REFERENCES customer (id),
    year         integer NOT NULL,
    announced_at timestamptz NOT NULL,
    PRIMARY KEY (customer_id, year)
);

-- The day's birthdays by month and day (month × 100 + day), active persons only: the
-- daily pass reads only them.
CREATE INDEX customer_birthday_month_day
    ON customer ((EXTRACT(MONTH FROM birthday) * 100 + EXTRACT(DAY FROM birthday)))
    WHERE birthday IS NOT NULL AND state = 'ACTIVE' AND kind = 'PERSON';

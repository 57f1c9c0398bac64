       -- Every column of an outlet `o`, with its weekly hours and closure dates as
       -- parallel arrays, so that one round trip reads the whole outlet.
       o.code, o.display_name, o.group_code, o.region,
       o.province, o.city, o.district, o.street, o.postal_code, o.region_code,
       o.latitude, o.longitude, o.capabilities, o.brands, o.phone, o.utc_offset_minutes,
       o.status, o.status_reason, o.status_time, o.version, o.create_time, o.update_time,
       ARRAY(SELECT h.weekday FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_weekdays,
       ARRAY(SELECT h.opens FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_opens,
       ARRAY(SELECT h.closes FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_closes,
       ARRAY(SELECT c.day FROM outlet_closure c WHERE c.outlet_code = o.code ORDER BY c.day) AS closed_days

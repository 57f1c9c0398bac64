-- ListVehicles pages in VIN order within its most selective filter.
DROP INDEX vehicle_model;
DROP INDEX vehicle_holder;
CREATE INDEX vehicle_model_vin ON vehicle (model_code, vin);
CREATE INDEX vehicle_holder_vin ON vehicle (holder_outlet, vin) WHERE holder_outlet <> '';
CREATE INDEX vehicle_built_at ON vehicle (built_at);
-- An outlet sees the cars it sold.
CREATE INDEX sale_outlet ON sale (outlet, vin);

-- A customer's survey answers newest first (ListSurveyResponses, the hotline's
-- Customer360 screen): one index range read per page.
CREATE INDEX survey_response_customer ON survey_response (customer_id, create_time DESC, id DESC);

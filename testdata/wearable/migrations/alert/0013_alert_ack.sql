ALTER TABLE alerts ADD COLUMN acknowledged_at timestamptz;
CREATE INDEX alerts_unacknowledged ON alerts (patient_id) WHERE acknowledged_at IS NULL;

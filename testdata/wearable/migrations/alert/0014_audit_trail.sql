CREATE TABLE audit_trail (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  alert_id bigint REFERENCES alerts(id)
);

-- 0003_token_revocation: a token can be revoked. The row stays (the audit
-- trail names tokens by id); revoked_at is set once, when it is revoked, and
-- never changed afterwards. NULL: not revoked. Nanoseconds, like every time.
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;

-- 0002_approvals: the approver registry and approval records (approvals,
-- rejections, revocations). Like everything else here, rows are only ever
-- inserted: a revocation is a new record, never an edit.

-- approvers: who may sign, in which role, with which key or OIDC identity.
CREATE TABLE approvers (
	id          TEXT    PRIMARY KEY,
	name        TEXT    NOT NULL CHECK (name <> ''),
	role        TEXT    NOT NULL CHECK (role <> ''),
	key_id      TEXT    NOT NULL, -- "" for keyless
	public_key  BLOB,             -- PEM; NULL for keyless
	issuer      TEXT    NOT NULL, -- "" for key approvers
	subject     TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	CHECK ((key_id <> '' AND public_key IS NOT NULL) OR (issuer <> '' AND subject <> ''))
);
CREATE INDEX approvers_key_id ON approvers (key_id);

-- approvals: accepted approval records, each its own leaf of the log.
CREATE TABLE approvals (
	id              INTEGER PRIMARY KEY,
	release_id      INTEGER NOT NULL REFERENCES releases (id),
	manifest_digest BLOB    NOT NULL CHECK (length(manifest_digest) = 32),
	bundle_digest   BLOB    NOT NULL CHECK (length(bundle_digest) = 32) UNIQUE,
	decision        TEXT    NOT NULL,
	name            TEXT    NOT NULL,
	role            TEXT    NOT NULL,
	identity        TEXT    NOT NULL,
	authentication  TEXT    NOT NULL,
	meaning         TEXT    NOT NULL,
	comment         TEXT    NOT NULL,
	signed_at       INTEGER NOT NULL,
	timestamped     INTEGER NOT NULL CHECK (timestamped IN (0, 1)),
	accepted_at     INTEGER NOT NULL,
	log_index       INTEGER NOT NULL UNIQUE CHECK (log_index >= 0)
);
CREATE INDEX approvals_release ON approvals (release_id, log_index);

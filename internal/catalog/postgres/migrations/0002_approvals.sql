-- 0002_approvals: the approver registry and approval records (approvals,
-- rejections, revocations). Like everything else here, rows are only ever
-- inserted: a revocation is a new record, never an edit.

-- approvers: who may sign, in which role, with which key or OIDC identity.
CREATE TABLE approvers (
	id          text   COLLATE "C" PRIMARY KEY,
	name        text   COLLATE "C" NOT NULL CHECK (name <> ''),
	role        text   COLLATE "C" NOT NULL CHECK (role <> ''),
	key_id      text   COLLATE "C" NOT NULL, -- '' for keyless
	public_key  bytea,                       -- PEM; NULL for keyless
	issuer      text   COLLATE "C" NOT NULL, -- '' for key approvers
	subject     text   COLLATE "C" NOT NULL,
	created_at  bigint NOT NULL,
	CHECK ((key_id <> '' AND public_key IS NOT NULL) OR (issuer <> '' AND subject <> ''))
);
CREATE INDEX approvers_key_id ON approvers (key_id);

-- approvals: accepted approval records, each its own leaf of the log.
CREATE TABLE approvals (
	id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	release_id      bigint  NOT NULL REFERENCES releases (id),
	manifest_digest bytea   NOT NULL CHECK (length(manifest_digest) = 32),
	bundle_digest   bytea   NOT NULL CHECK (length(bundle_digest) = 32) UNIQUE,
	decision        text    COLLATE "C" NOT NULL,
	name            text    COLLATE "C" NOT NULL,
	role            text    COLLATE "C" NOT NULL,
	identity        text    COLLATE "C" NOT NULL,
	authentication  text    COLLATE "C" NOT NULL,
	meaning         text    COLLATE "C" NOT NULL,
	comment         text    COLLATE "C" NOT NULL,
	signed_at       bigint  NOT NULL,
	timestamped     boolean NOT NULL,
	accepted_at     bigint  NOT NULL,
	log_index       bigint  NOT NULL UNIQUE CHECK (log_index >= 0)
);
CREATE INDEX approvals_release ON approvals (release_id, log_index);

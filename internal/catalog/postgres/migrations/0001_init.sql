-- 0001_init: the catalog's first schema, the PostgreSQL twin of
-- catalog/sqlite's 0001_init (same tables, same numbering).
--
-- Conventions
--   * Digests are 32-byte bytea (the raw SHA-256 sum), not 71-character
--     "sha256:<hex>" text: every digest index entry is less than half the size.
--   * Times are bigint nanoseconds since the Unix epoch, UTC: exact round trips
--     to the nanosecond (timestamptz keeps microseconds), correct ordering. The
--     zero time.Time is stored as -9223372036854775808, so that it orders
--     first, as it does in Go.
--   * Log positions are bigint (the code refuses anything above 2^63-1).
--   * Text that is compared or sorted is COLLATE "C": names sort by bytes
--     ("Zeta" before "monitor") whatever the database's locale, and index
--     comparisons are memcmp.
--   * Rows reference their release through releases.id; a release's
--     components, artifacts and blobs keep their order through pos.
--   * Nothing is ever updated or deleted except products, a per-product
--     summary kept in step with releases inside the same transaction.
--   * Writers are serialised (an advisory lock taken at the start of every
--     write transaction), so identity values are handed out in commit order:
--     WalkReleases relies on releases.id to tell the releases committed when a
--     walk began from later ones.

-- releases: one accepted release. product@version is unique; so is the log
-- index, because every release is its own leaf of the log.
CREATE TABLE releases (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	product         text   COLLATE "C" NOT NULL,
	version         text   COLLATE "C" NOT NULL,
	manifest_digest bytea  NOT NULL CHECK (length(manifest_digest) = 32),
	bundle_digest   bytea  NOT NULL CHECK (length(bundle_digest) = 32),
	safety_class    text   COLLATE "C" NOT NULL,
	created_at      bigint NOT NULL, -- the manifest's createdAt
	accepted_at     bigint NOT NULL,
	signer          text   COLLATE "C" NOT NULL,
	log_index       bigint NOT NULL CHECK (log_index >= 0),
	CONSTRAINT releases_product_version UNIQUE (product, version),
	CONSTRAINT releases_log_index UNIQUE (log_index)
);
-- History: a product's releases newest first, read in index order.
CREATE INDEX releases_product_created ON releases (product, created_at DESC, log_index DESC);

-- products: how many releases each product has and which is the latest (by
-- created_at, then log_index), so that listing products does not scan every
-- release.
CREATE TABLE products (
	name              text   COLLATE "C" PRIMARY KEY,
	releases          bigint NOT NULL,
	latest_version    text   COLLATE "C" NOT NULL,
	latest_created_at bigint NOT NULL,
	latest_log_index  bigint NOT NULL
);

-- components: a release's components, in manifest order. Names are unique
-- within a release (checked on insert).
CREATE TABLE components (
	release_id   bigint  NOT NULL REFERENCES releases (id),
	pos          integer NOT NULL,
	name         text    COLLATE "C" NOT NULL,
	version      text    COLLATE "C" NOT NULL,
	kind         text    COLLATE "C" NOT NULL,
	safety_class text    COLLATE "C" NOT NULL,
	PRIMARY KEY (release_id, pos)
);
-- FindComponent.
CREATE INDEX components_name_version ON components (name, version);

-- artifacts: released files; component_pos is the component they belong to.
CREATE TABLE artifacts (
	release_id    bigint  NOT NULL,
	pos           integer NOT NULL,
	component_pos integer NOT NULL,
	name          text    COLLATE "C" NOT NULL,
	digest        bytea   NOT NULL CHECK (length(digest) = 32),
	size          bigint  NOT NULL,
	PRIMARY KEY (release_id, pos),
	FOREIGN KEY (release_id, component_pos) REFERENCES components (release_id, pos)
);
-- FindArtifact.
CREATE INDEX artifacts_digest ON artifacts (digest);

-- release_blobs: every blob a release references (manifest, bundle,
-- evidence), for fsck.
CREATE TABLE release_blobs (
	release_id bigint  NOT NULL REFERENCES releases (id),
	pos        integer NOT NULL,
	digest     bytea   NOT NULL CHECK (length(digest) = 32),
	PRIMARY KEY (release_id, pos)
);

-- packages: each distinct SOUP package (name, version, purl, base) once, so
-- that soup below holds three integers per entry instead of four strings.
-- ident is the SHA-256 of the four fields (length-prefixed): one 32-byte
-- unique key instead of an index over four texts of any length, which a
-- B-tree could not hold beyond about 2.7 kB.
CREATE TABLE packages (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ident   bytea  NOT NULL CHECK (length(ident) = 32),
	purl    text   COLLATE "C" NOT NULL, -- as the SBOM states it; '' when there is none
	name    text   COLLATE "C" NOT NULL,
	version text   COLLATE "C" NOT NULL,
	base    text   COLLATE "C" NOT NULL, -- normalised purl without version, qualifiers, subpath
	CONSTRAINT packages_ident UNIQUE (ident)
);
-- FindSOUP, by base and by base and version.
CREATE INDEX packages_base_version ON packages (base, version);

-- soup: which release ships which package in which component. The primary
-- key is the lookup path of FindSOUP (package, then release); an entry
-- listed twice in one component is recorded once.
CREATE TABLE soup (
	package_id    bigint  NOT NULL REFERENCES packages (id),
	release_id    bigint  NOT NULL,
	component_pos integer NOT NULL,
	PRIMARY KEY (package_id, release_id, component_pos),
	FOREIGN KEY (release_id, component_pos) REFERENCES components (release_id, pos)
);

-- log_leaves: the Merkle log's leaf data, by index (0, 1, 2, ... with no gap).
CREATE TABLE log_leaves (
	idx  bigint PRIMARY KEY CHECK (idx >= 0),
	data bytea  NOT NULL
);

-- log_nodes: the hash of every stored node (the head of a perfect subtree).
CREATE TABLE log_nodes (
	level smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
	idx   bigint   NOT NULL CHECK (idx >= 0),
	hash  bytea    NOT NULL,
	PRIMARY KEY (level, idx)
);

-- tokens: API tokens, only their SHA-256 hash. seq keeps insertion order.
CREATE TABLE tokens (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id         text   COLLATE "C" NOT NULL,
	name       text   COLLATE "C" NOT NULL,
	role       text   COLLATE "C" NOT NULL,
	hash       bytea  NOT NULL,
	created_at bigint NOT NULL,
	CONSTRAINT tokens_id UNIQUE (id),
	CONSTRAINT tokens_hash UNIQUE (hash)
);

-- audit: the append-only audit trail. An identity value is never handed out
-- twice; with writers serialised, seq also grows in commit order, so a reader
-- paging by seq never skips an event committed after its last page.
CREATE TABLE audit (
	seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at      bigint NOT NULL,
	actor   text   COLLATE "C" NOT NULL,
	action  text   COLLATE "C" NOT NULL,
	target  text   COLLATE "C" NOT NULL,
	remote  text   COLLATE "C" NOT NULL,
	outcome text   COLLATE "C" NOT NULL,
	detail  text   COLLATE "C" NOT NULL
);

-- 0001_init: the catalog's first schema.
--
-- Conventions
--   * Digests are 32-byte BLOBs (the raw SHA-256 sum), not 71-character
--     "sha256:<hex>" text: every digest index entry is less than half the size,
--     so more of artifacts(digest) stays in the page cache at a million
--     releases. The algorithm is fixed (internal/digest), so nothing is lost.
--   * Times are INTEGER nanoseconds since the Unix epoch, UTC: exact
--     round trips with sub-second precision, correct ordering, 8 bytes at most.
--     The zero time.Time is stored as -9223372036854775808 (the smallest
--     INTEGER), so that it orders first, as it does in Go.
--   * Log positions are INTEGER (signed 64-bit; the code refuses anything
--     above 2^63-1).
--   * Rows reference their release through releases.id; a release's
--     components, artifacts and blobs keep their order through pos.
--   * Nothing is ever updated or deleted except products, a per-product
--     summary kept in step with releases inside the same transaction.

-- releases: one accepted release. product@version is unique; so is the log
-- index, because every release is its own leaf of the log.
CREATE TABLE releases (
	id              INTEGER PRIMARY KEY,
	product         TEXT    NOT NULL,
	version         TEXT    NOT NULL,
	manifest_digest BLOB    NOT NULL CHECK (length(manifest_digest) = 32),
	bundle_digest   BLOB    NOT NULL CHECK (length(bundle_digest) = 32),
	safety_class    TEXT    NOT NULL,
	created_at      INTEGER NOT NULL, -- the manifest's createdAt
	accepted_at     INTEGER NOT NULL,
	signer          TEXT    NOT NULL,
	log_index       INTEGER NOT NULL CHECK (log_index >= 0),
	CONSTRAINT releases_product_version UNIQUE (product, version),
	CONSTRAINT releases_log_index UNIQUE (log_index)
);
-- History: a product's releases newest first, read in index order.
CREATE INDEX releases_product_created ON releases (product, created_at DESC, log_index DESC);

-- products: how many releases each product has and which is the latest
-- (by created_at, then log_index), so that listing products does not scan
-- every release.
CREATE TABLE products (
	name              TEXT    PRIMARY KEY,
	releases          INTEGER NOT NULL,
	latest_version    TEXT    NOT NULL,
	latest_created_at INTEGER NOT NULL,
	latest_log_index  INTEGER NOT NULL
) WITHOUT ROWID;

-- components: a release's components, in manifest order. Names are unique
-- within a release (checked on insert).
CREATE TABLE components (
	release_id   INTEGER NOT NULL REFERENCES releases (id),
	pos          INTEGER NOT NULL,
	name         TEXT    NOT NULL,
	version      TEXT    NOT NULL,
	kind         TEXT    NOT NULL,
	safety_class TEXT    NOT NULL,
	PRIMARY KEY (release_id, pos)
) WITHOUT ROWID;
-- FindComponent.
CREATE INDEX components_name_version ON components (name, version);

-- artifacts: released files; component_pos is the component they belong to.
CREATE TABLE artifacts (
	release_id    INTEGER NOT NULL,
	pos           INTEGER NOT NULL,
	component_pos INTEGER NOT NULL,
	name          TEXT    NOT NULL,
	digest        BLOB    NOT NULL CHECK (length(digest) = 32),
	size          INTEGER NOT NULL,
	PRIMARY KEY (release_id, pos),
	FOREIGN KEY (release_id, component_pos) REFERENCES components (release_id, pos)
) WITHOUT ROWID;
-- FindArtifact.
CREATE INDEX artifacts_digest ON artifacts (digest);

-- release_blobs: every blob a release references (manifest, bundle,
-- evidence), for fsck.
CREATE TABLE release_blobs (
	release_id INTEGER NOT NULL REFERENCES releases (id),
	pos        INTEGER NOT NULL,
	digest     BLOB    NOT NULL CHECK (length(digest) = 32),
	PRIMARY KEY (release_id, pos)
) WITHOUT ROWID;

-- packages: each distinct SOUP package (name, version, purl, base) once.
-- SOUP lists repeat the same packages from release to release, so soup
-- below holds three integers per entry instead of four strings; at a
-- million releases with twenty entries each that is the difference between
-- hundreds of megabytes and several gigabytes.
CREATE TABLE packages (
	id      INTEGER PRIMARY KEY,
	purl    TEXT NOT NULL, -- as the SBOM states it; '' when there is none
	name    TEXT NOT NULL,
	version TEXT NOT NULL,
	base    TEXT NOT NULL, -- normalised purl without version, qualifiers, subpath
	CONSTRAINT packages_identity UNIQUE (purl, name, version, base)
);
-- FindSOUP, by base and by base and version.
CREATE INDEX packages_base_version ON packages (base, version);

-- soup: which release ships which package in which component. The primary
-- key is the lookup path of FindSOUP (package, then release); an entry
-- listed twice in one component is recorded once.
CREATE TABLE soup (
	package_id    INTEGER NOT NULL REFERENCES packages (id),
	release_id    INTEGER NOT NULL,
	component_pos INTEGER NOT NULL,
	PRIMARY KEY (package_id, release_id, component_pos),
	FOREIGN KEY (release_id, component_pos) REFERENCES components (release_id, pos)
) WITHOUT ROWID;

-- log_leaves: the Merkle log's leaf data, by index (0, 1, 2, ... with no gap).
CREATE TABLE log_leaves (
	idx  INTEGER PRIMARY KEY CHECK (idx >= 0),
	data BLOB    NOT NULL
);

-- log_nodes: the hash of every stored node (the head of a perfect subtree).
CREATE TABLE log_nodes (
	level INTEGER NOT NULL,
	idx   INTEGER NOT NULL,
	hash  BLOB    NOT NULL,
	PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- tokens: API tokens, only their SHA-256 hash. seq keeps insertion order.
CREATE TABLE tokens (
	seq        INTEGER PRIMARY KEY,
	id         TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	role       TEXT    NOT NULL,
	hash       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	CONSTRAINT tokens_id UNIQUE (id),
	CONSTRAINT tokens_hash UNIQUE (hash)
);

-- audit: the append-only audit trail. AUTOINCREMENT: a sequence number is
-- never handed out twice, whatever happens to the table.
CREATE TABLE audit (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	at      INTEGER NOT NULL,
	actor   TEXT    NOT NULL,
	action  TEXT    NOT NULL,
	target  TEXT    NOT NULL,
	remote  TEXT    NOT NULL,
	outcome TEXT    NOT NULL,
	detail  TEXT    NOT NULL
);

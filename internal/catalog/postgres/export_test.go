package postgres

import (
	"context"

	"github.com/evident-dev/evident/internal/catalog/sqlcat"
)

// What the external tests need of the package's insides.

// LatestSchema returns the number of the newest embedded migration.
func LatestSchema() (int, error) {
	ms, err := sqlcat.Migrations(migrationFS)
	if err != nil {
		return 0, err
	}
	return ms[len(ms)-1].Version, nil
}

// Schema returns the schema the catalog lives in.
func (db *DB) Schema() string { return db.schema }

// Setting returns the value of a run-time setting on a connection of the
// read pool and on the write connection.
func (db *DB) Setting(ctx context.Context, name string) (read, write string, err error) {
	const q = `SELECT current_setting($1)`
	if err := db.read.QueryRow(ctx, q, name).Scan(&read); err != nil {
		return "", "", err
	}
	if err := db.write.QueryRow(ctx, q, name).Scan(&write); err != nil {
		return "", "", err
	}
	return read, write, nil
}

// Lookups are the queries whose plans TestQueryPlans checks, by name.
var Lookups = map[string]string{
	"Release":          sqlRelease,
	"History":          sqlHistory,
	"WalkReleases":     sqlWalk,
	"Components":       sqlComponents,
	"Artifacts":        sqlArtifacts,
	"Blobs":            sqlBlobs,
	"Products":         sqlProducts,
	"FindArtifact":     sqlFindArtifact,
	"FindComponent":    sqlFindComponent,
	"FindSOUP base":    sqlFindSOUPBase,
	"FindSOUP version": sqlFindSOUPVersion,
	"LogSize":          sqlLogSize,
	"LogLeaf":          sqlLogLeaf,
	"LogNodes":         sqlLogNodes,
	"Token":            sqlToken,
	"AuditEvents":      sqlAuditEvents,
	"Approvals":        sqlApprovals,
	"ReleaseConflicts": sqlReleaseConflicts,
	"ReleaseKey":       sqlReleaseKey,
}

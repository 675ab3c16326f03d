// Package pgtest gives tests a throwaway PostgreSQL schema: each call
// creates a schema of its own in the database named by EVIDENT_TEST_POSTGRES_URL
// and returns a connection URL whose search_path is that schema, so that
// tests can run in parallel, and again, against one database. The schema is
// dropped when the test ends.
//
// It is imported by tests only, and imports nothing of evident's, so that
// any test helper package can build on it. Whether a test without the
// variable skips or fails is the caller's business (testutil.Unavailable).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that holds the URL of the test
// database, e.g. postgres://postgres@127.0.0.1:5432/evident_test?sslmode=disable.
const EnvURL = "EVIDENT_TEST_POSTGRES_URL"

// Schema creates a new schema named t_<random> in the database at base (a
// postgres:// URL or key=value pairs) and returns base with search_path set
// to it. The schema and everything in it is dropped when t ends; anything
// connected to it must be closed by then (a t.Cleanup registered after
// Schema runs before the drop).
func Schema(t testing.TB, base string) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() { Drop(t, base, name) })
	u, err := WithSearchPath(base, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Drop drops schema name of the database at base, with everything in it.
func Drop(t testing.TB, base, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Errorf("drop schema %s: %v", name, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", name, err)
	}
}

// WithSearchPath returns the connection string base with search_path set to
// schema, which must be a plain lower-case identifier.
func WithSearchPath(base, schema string) (string, error) {
	for _, r := range schema {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return "", fmt.Errorf("schema %q: want lower-case letters, digits and '_'", schema)
		}
	}
	return WithParam(base, "search_path", schema)
}

// WithParam returns the connection string base (a URL or key=value pairs)
// with the parameter key set to value, which must not need quoting.
func WithParam(base, key, value string) (string, error) {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("%s: not a URL", EnvURL) // the error would show the password
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if strings.ContainsAny(value, " '\\") {
		return "", fmt.Errorf("parameter %s: the value %q needs quoting", key, value)
	}
	return strings.TrimSpace(base) + " " + key + "=" + value, nil
}

package testutil

import (
	"os"
	"testing"

	"github.com/evident-dev/evident/internal/catalog/postgres/pgtest"
)

// Postgres returns the URL of a new, empty schema in the test database
// named by EVIDENT_TEST_POSTGRES_URL (see pgtest), dropped when the test
// ends. Without the variable the test skips (see Unavailable).
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(pgtest.EnvURL)
	if base == "" {
		Unavailable(t, "%s is not set: PostgreSQL tests need a database to create schemas in, e.g. postgres://postgres@127.0.0.1:5432/evident_test?sslmode=disable", pgtest.EnvURL)
	}
	return pgtest.Schema(t, base)
}

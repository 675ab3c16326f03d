package httpapi_test

import (
	"testing"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/api/apitest"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
)

// TestContract runs the archive's contract suite through HTTP: the client
// against this server, with a real token of each role. It must see exactly
// what the archive's own test sees in-process.
func TestContract(t *testing.T) {
	apitest.Run(t, func(t *testing.T, trusted *sign.PublicKey) apitest.Env {
		srv, token := testutil.NewServer(t, testutil.NewArchive(t, trusted))
		tokens := map[string]string{}
		for _, role := range []string{"ci", "auditor", "approver", "admin"} {
			tokens[role] = token(role)
		}
		return apitest.Env{As: func(role string) api.Archive {
			return testutil.Client(t, srv, tokens[role])
		}}
	})
}

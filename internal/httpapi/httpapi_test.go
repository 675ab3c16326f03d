package httpapi_test

import (
	"bytes"
	"net/http"
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
		arch := testutil.NewArchive(t, trusted)
		srv, token := testutil.NewServer(t, arch)
		tokens := map[string]string{}
		for _, role := range []string{"ci", "auditor", "approver", "admin"} {
			tokens[role] = token(role)
		}
		return apitest.Env{
			As: func(role string) api.Archive {
				return testutil.Client(t, srv, tokens[role])
			},
			RegisterApprover: func(t *testing.T, name, role string, key *sign.PublicKey) {
				arch.RegisterApprover(t, name, role, key)
			},
			SubmitStatus: func(t *testing.T, role string, bundle []byte) int {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/api/v1/approvals", bytes.NewReader(bundle))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if tok := tokens[role]; tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatalf("POST /api/v1/approvals: %v", err)
				}
				resp.Body.Close()
				return resp.StatusCode
			},
		}
	})
}

package archive_test

import (
	"testing"

	"github.com/evident-dev/evident/internal/api/apitest"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
)

// TestContract runs the archive's contract suite in-process, with the
// principal of each role in the context as the HTTP layer would put it.
func TestContract(t *testing.T) {
	apitest.Run(t, func(t *testing.T, trusted *sign.PublicKey) apitest.Env {
		a := testutil.NewArchive(t, trusted)
		return apitest.Env{
			As: a.As,
			RegisterApprover: func(t *testing.T, name, role string, key *sign.PublicKey) {
				a.RegisterApprover(t, name, role, key)
			},
		}
	})
}

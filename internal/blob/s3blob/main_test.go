package s3blob_test

import (
	"os"
	"testing"

	"github.com/evident-dev/evident/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.StopS3()
	os.Exit(code)
}

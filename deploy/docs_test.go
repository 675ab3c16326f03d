package deploy

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/testutil"
)

// operationsDoc is the operators' guide, whose examples these tests keep
// true.
const operationsDoc = "docs/operations.md"

// section returns the text of doc from the heading to the next heading of
// the same or a higher level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no heading %q", operationsDoc, heading)
	}
	rest := doc[i+len(heading)+2:]
	level := strings.Index(heading, " ") // the number of #
	if j := regexp.MustCompile(`\n#{1,` + strconv.Itoa(level) + `} `).FindStringIndex(rest); j != nil {
		rest = rest[:j[0]]
	}
	return rest
}

// TestOperationsPolicy checks that the S3 policy the guide shows is
// s3-policy.json, which TestS3Policy checks against the code.
func TestOperationsPolicy(t *testing.T) {
	s3 := section(t, readRepoFile(t, operationsDoc), "### S3")
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(s3)
	if m == nil {
		t.Fatalf("%s, section S3: no ```json block", operationsDoc)
	}
	var inDoc, inFile any
	if err := json.Unmarshal([]byte(m[1]), &inDoc); err != nil {
		t.Fatalf("%s: the policy is not JSON: %v", operationsDoc, err)
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, filepath.Join("deploy", composeDir, "s3-policy.json"))), &inFile); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inFile, inDoc); diff != "" {
		t.Errorf("the policy in %s differs from deploy/compose/s3-policy.json (-file +doc):\n%s", operationsDoc, diff)
	}
}

// TestOperationsMonitoring starts the real evidentd and checks that the
// endpoints and metrics the guide's Monitoring section names are served.
func TestOperationsMonitoring(t *testing.T) {
	mon := section(t, readRepoFile(t, operationsDoc), "## Monitoring")
	bins := testutil.BuildBinaries(t)
	srv := testutil.StartServer(t, bins.Evidentd, testutil.ServerOptions{Data: t.TempDir()})

	get := func(p string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL() + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if !strings.Contains(mon, "`GET "+p+"`") {
			t.Errorf("the guide's Monitoring section does not list GET %s", p)
		}
		if code, body := get(p); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if code, body := get("/healthz"); !strings.Contains(mon, "`200 "+strings.TrimSpace(body)+"`") {
		t.Errorf("GET /healthz answers %d %s; the guide shows another body", code, body)
	}
	_, metrics := get("/metrics")
	named := regexp.MustCompile("`(evidentd_[a-z_]+)`").FindAllStringSubmatch(mon, -1)
	if len(named) < 3 {
		t.Fatalf("the Monitoring section names %d evidentd_ metrics, want the three", len(named))
	}
	for _, m := range named {
		if !regexp.MustCompile(`(?m)^# TYPE ` + m[1] + ` `).MatchString(metrics) {
			t.Errorf("the guide names metric %s, which evidentd does not serve", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (evidentd_\w+) `).FindAllStringSubmatch(metrics, -1) {
		if !strings.Contains(mon, "`"+m[1]+"`") {
			t.Errorf("evidentd serves metric %s, which the guide's Monitoring section does not list", m[1])
		}
	}
	// The route label is METHOD /pattern, as the guide's alerts assume.
	if !strings.Contains(metrics, `route="GET /readyz"`) {
		t.Errorf(`no metric has route="GET /readyz", the label form the guide's alerts use:\n%s`, metrics)
	}
}

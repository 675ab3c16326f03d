package sign

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

const (
	corpusSigstore   = "../../testdata/corpus/sigstore"
	corpusProvenance = "../../testdata/corpus/provenance"
	testPredType     = evidence.PredicateTypeRelease
)

var digestCmp = cmp.Comparer(func(a, b digest.Digest) bool { return a == b })

func testStatement(t testing.TB, artifacts ...string) Statement {
	t.Helper()
	if len(artifacts) == 0 {
		artifacts = []string{"firmware.bin"}
	}
	st := Statement{PredicateType: testPredType, Predicate: json.RawMessage(`{"product":{"name":"monitor","version":"1.0.0"}}`)}
	for _, a := range artifacts {
		st.Subjects = append(st.Subjects, Subject{Name: a, Digest: digest.FromBytes([]byte("content of " + a))})
	}
	return st
}

func TestEncodeExactBytes(t *testing.T) {
	d := digest.FromBytes([]byte("a"))
	st := Statement{
		Subjects:      []Subject{{Name: "fw/<image>.bin", Digest: d}},
		PredicateType: "https://evident.dev/attestation/release/v1",
		Predicate:     json.RawMessage("  {\"b\": \"<&>\",\n \"a\": 1}\n"),
	}
	got, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Field order fixed, no HTML escaping, predicate verbatim (only the
	// surrounding white space trimmed, key order and inner spacing kept).
	want := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"fw/<image>.bin","digest":{"sha256":"` + d.Hex() +
		`"}}],"predicateType":"https://evident.dev/attestation/release/v1","predicate":{"b": "<&>",` + "\n" + ` "a": 1}}`
	if string(got) != want {
		t.Errorf("Encode:\n got %s\nwant %s", got, want)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	st := testStatement(t, "firmware.bin", "app.apk", "dup-content.bin")
	st.Subjects[2].Digest = st.Subjects[0].Digest // same content under two names is allowed
	payload, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatement(payload)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&st, got, digestCmp); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	again, err := got.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(payload) {
		t.Errorf("re-encoding changed the bytes:\n%s\n%s", payload, again)
	}
}

func TestCovers(t *testing.T) {
	st := testStatement(t, "a", "b")
	tests := []struct {
		name string
		d    digest.Digest
		want bool
	}{
		{"first subject", st.Subjects[0].Digest, true},
		{"second subject", st.Subjects[1].Digest, true},
		{"other content", digest.FromBytes([]byte("other")), false},
		{"zero digest", digest.Digest{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := st.Covers(tc.d); got != tc.want {
				t.Errorf("Covers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	many := make([]Subject, MaxSubjects+1)
	for i := range many {
		many[i] = Subject{Name: fmt.Sprint(i), Digest: digest.FromBytes([]byte{byte(i)})}
	}
	tests := []struct {
		name   string
		mutate func(*Statement)
		want   string
	}{
		{"no subjects", func(s *Statement) { s.Subjects = nil }, "no subjects"},
		{"too many subjects", func(s *Statement) { s.Subjects = many }, "1025 subjects"},
		{"empty name", func(s *Statement) { s.Subjects[0].Name = "" }, "subject[0]: name is empty"},
		{"invalid UTF-8 name", func(s *Statement) { s.Subjects[0].Name = "a\xffb" }, "not valid UTF-8"},
		{"zero digest", func(s *Statement) { s.Subjects[0].Digest = digest.Digest{} }, "digest is missing"},
		{"empty predicateType", func(s *Statement) { s.PredicateType = "" }, "predicateType is empty"},
		{"relative predicateType", func(s *Statement) { s.PredicateType = "evident.dev/release/v1" }, "not an absolute URI"},
		{"no predicate", func(s *Statement) { s.Predicate = nil }, "predicate is missing"},
		{"predicate is an array", func(s *Statement) { s.Predicate = json.RawMessage(`[1]`) }, "not a JSON object"},
		{"predicate is not JSON", func(s *Statement) { s.Predicate = json.RawMessage(`{"a":`) }, "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := testStatement(t)
			tc.mutate(&st)
			_, err := st.Encode()
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

func TestDecodeStatementStrict(t *testing.T) {
	const hexA = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	sub := `[{"name":"a","digest":{"sha256":"` + hexA + `"}}]`
	stmt := func(fields string) string { return "{" + fields + "}" }
	typ := `"_type":"https://in-toto.io/Statement/v1"`
	pt := `"predicateType":"https://evident.dev/attestation/release/v1"`
	pred := `"predicate":{}`
	tests := []struct {
		name    string
		payload string
		want    string // "" = valid
	}{
		{"valid", stmt(typ + `,"subject":` + sub + `,` + pt + `,` + pred), ""},
		{"valid, other field order", stmt(pred + `,` + pt + `,"subject":` + sub + `,` + typ), ""},
		{"statement v0.1", stmt(`"_type":"https://in-toto.io/Statement/v0.1","subject":` + sub + `,` + pt + `,` + pred), `_type "https://in-toto.io/Statement/v0.1" is not supported`},
		{"no _type", stmt(`"subject":` + sub + `,` + pt + `,` + pred), "_type is missing"},
		{"_type not a string", stmt(`"_type":1,"subject":` + sub + `,` + pt + `,` + pred), "_type: not a string"},
		{"unknown top-level field", stmt(typ + `,"subject":` + sub + `,` + pt + `,` + pred + `,"extra":1`), `unknown field "extra"`},
		{"field name in other case", stmt(typ + `,"subject":` + sub + `,"PredicateType":"https://x.dev/p",` + pred), `unknown field "PredicateType"`},
		{"duplicate field", stmt(typ + `,"subject":` + sub + `,` + pt + `,` + pt + `,` + pred), `duplicate field "predicateType"`},
		{"duplicate field via escape", stmt(typ + `,"subject":` + sub + `,` + pt + `,"predicate\u0054ype":"https://x.dev/p",` + pred), `duplicate field "predicateType"`},
		{"no subject", stmt(typ + `,` + pt + `,` + pred), "subject is missing"},
		{"empty subject", stmt(typ + `,"subject":[],` + pt + `,` + pred), "no subjects"},
		{"subject null", stmt(typ + `,"subject":null,` + pt + `,` + pred), "subject is not an array"},
		{"subject not an array", stmt(typ + `,"subject":{},` + pt + `,` + pred), "subject is not an array"},
		{"subject unknown field", stmt(typ + `,"subject":[{"name":"a","uri":"x","digest":{"sha256":"` + hexA + `"}}],` + pt + `,` + pred), `subject[0]: unknown field "uri"`},
		{"subject without name", stmt(typ + `,"subject":[{"digest":{"sha256":"` + hexA + `"}}],` + pt + `,` + pred), "subject[0]: name is missing"},
		{"subject name null", stmt(typ + `,"subject":[{"name":null,"digest":{"sha256":"` + hexA + `"}}],` + pt + `,` + pred), "subject[0]: name: not a string"},
		{"subject without digest", stmt(typ + `,"subject":[{"name":"a"}],` + pt + `,` + pred), `subject[0]: "a": digest is missing`},
		{"empty digest set", stmt(typ + `,"subject":[{"name":"a","digest":{}}],` + pt + `,` + pred), "no sha256 digest"},
		{"sha512 only", stmt(typ + `,"subject":[{"name":"a","digest":{"sha512":"00"}}],` + pt + `,` + pred), `algorithm "sha512" is not supported`},
		{"sha256 and sha512", stmt(typ + `,"subject":[{"name":"a","digest":{"sha256":"` + hexA + `","sha512":"00"}}],` + pt + `,` + pred), `algorithm "sha512" is not supported`},
		{"upper-case hex", stmt(typ + `,"subject":[{"name":"a","digest":{"sha256":"` + strings.ToUpper(hexA) + `"}}],` + pt + `,` + pred), "hex must be lower case"},
		{"short hex", stmt(typ + `,"subject":[{"name":"a","digest":{"sha256":"abcd"}}],` + pt + `,` + pred), "want 64 hex characters"},
		{"second subject bad", stmt(typ + `,"subject":[{"name":"a","digest":{"sha256":"` + hexA + `"}},{"name":"b","digest":{"md5":"00"}}],` + pt + `,` + pred), `subject[1]: digest: algorithm "md5"`},
		{"no predicateType", stmt(typ + `,"subject":` + sub + `,` + pred), "predicateType is missing"},
		{"predicateType without scheme", stmt(typ + `,"subject":` + sub + `,"predicateType":"cosign.sigstore.dev/attestation/vuln/v1",` + pred), "not an absolute URI"},
		{"no predicate", stmt(typ + `,"subject":` + sub + `,` + pt), "predicate is missing"},
		{"predicate null", stmt(typ + `,"subject":` + sub + `,` + pt + `,"predicate":null`), "predicate is not a JSON object"},
		{"predicate string", stmt(typ + `,"subject":` + sub + `,` + pt + `,"predicate":"x"`), "predicate is not a JSON object"},
		{"trailing data", stmt(typ+`,"subject":`+sub+`,`+pt+`,`+pred) + `{}`, "unexpected data after the JSON object"},
		{"truncated", stmt(typ + `,"subject":` + sub)[:40], "unexpected end of JSON"},
		{"not JSON", "hello, world!", "invalid JSON"},
		{"JSON array", `[]`, "not a JSON object"},
		{"empty", ``, "unexpected end of JSON"},
		{"invalid UTF-8", stmt(typ + `,"subject":[{"name":"a` + "\xff" + `","digest":{"sha256":"` + hexA + `"}}],` + pt + `,` + pred), "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := DecodeStatement([]byte(tc.payload))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("DecodeStatement: %v", err)
				}
				if len(st.Subjects) != 1 || st.Subjects[0].Name != "a" || st.Subjects[0].Digest.Hex() != hexA || st.PredicateType != evidence.PredicateTypeRelease || string(st.Predicate) != "{}" {
					t.Errorf("decoded %+v", st)
				}
				return
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

func TestDecodeStatementTooManySubjects(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://x.dev/p","predicate":{},"subject":[`)
	for i := range MaxSubjects + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"%d","digest":{"sha256":"%s"}}`, i, digest.FromBytes([]byte{byte(i)}).Hex())
	}
	b.WriteString("]}")
	_, err := DecodeStatement([]byte(b.String()))
	checkErr(t, err, evidence.KindInvalid, "1025 subjects")
}

// Real statements from other tools: Statement v1 with sha256 subjects is
// read; v0.1 statements, sha512-only subjects and payloads that are not
// statements are refused.
func TestDecodeStatementCorpus(t *testing.T) {
	tests := []struct {
		file string
		want string // "" = decodes
	}{
		{"sigstore/conformance_bundle-v0.3_github-actions-slsa-v1_dsse.json", ""},
		{"sigstore/github_attestation_custom-issuer.json", ""},
		{"sigstore/bazel-central-registry_publish-to-bcr_bundle-v0.3_slsa-v1.0.intoto.jsonl", ""},
		{"sigstore/sigstore-python_bundle-v0.3_rekor-v2-staging_dsse.json", ""},
		{"sigstore/sigstore-js_2.0.0_bundle-v0.1_slsa-v1.json", `algorithm "sha512" is not supported`},
		{"sigstore/trivy_cosign-bundle-v0.3_cyclonedx-attestation.json", `_type "https://in-toto.io/Statement/v0.1" is not supported`},
		{"sigstore/cosign_oci-attestation_bundle-v0.3_custom-predicate.json", `_type "https://in-toto.io/Statement/v0.1" is not supported`},
		{"sigstore/npm-cli_bundle-v0.1_slsa-v0.2_provenance.json", `_type "https://in-toto.io/Statement/v0.1" is not supported`},
		{"sigstore/github_attestation_text-plain-payload.json", "invalid JSON"},
		{"provenance/witness_dsse_payload-empty-object.json", "_type is missing"},
		{"provenance/cosign_dsse_custom-predicate-v1.json", `_type "https://in-toto.io/Statement/v0.1" is not supported`},
		{"provenance/google-bcid_vsa-v1_dsse.jsonl", `subject[0]: digest: algorithm "gce_image_id" is not supported`},
		{"provenance/chainloop_dsse_statement-v1_custom-predicate.json", `subject[1]: digest: algorithm "sha1" is not supported`},
		{"provenance/in-toto-spec-example_reference-v0.1.json", ""},
		{"provenance/in-toto-spec-example_release-v0.1_npm.json", "want 64 hex characters"}, // its digest is abbreviated
		{"provenance/in-toto-spec-example_test-result-v0.1_statement.json", `subject[0]: digest: algorithm "gitCommit" is not supported`},
		{"provenance/in-toto-spec-example_release-v0.1_trailing-comma.json", "invalid JSON"},
		{"provenance/kubernetes-release_statement_slsa-v0.2_75-subjects.json", `_type "https://in-toto.io/Statement/v0.1" is not supported`},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			payload := corpusPayload(t, filepath.Join("../../testdata/corpus", tc.file))
			st, err := DecodeStatement(payload)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("DecodeStatement: %v", err)
				}
				if len(st.Subjects) == 0 || st.PredicateType == "" {
					t.Errorf("decoded %+v", st)
				}
				return
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

// corpusPayload returns the statement in a corpus file: the DSSE payload of
// a bundle (dsseEnvelope.payload) or of a bare envelope (payload), or the
// whole file when it is not one of those (a bare statement).
func corpusPayload(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"payload"`) {
		return raw
	}
	line, _, _ := strings.Cut(string(raw), "\n") // JSON Lines: the first one
	var doc struct {
		Payload      string `json:"payload"`
		DSSEEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal([]byte(line), &doc); err != nil {
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	p := doc.DSSEEnvelope.Payload
	if p == "" {
		p = doc.Payload
	}
	b, err := base64.StdEncoding.DecodeString(p)
	if err != nil || len(b) == 0 {
		t.Fatalf("%s: no DSSE payload (%v)", path, err)
	}
	return b
}

// checkErr fails unless err has the kind and contains want.
func checkErr(t testing.TB, err error, kind evidence.Kind, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s error containing %q", kind, want)
	}
	if got := evidence.KindOf(err); got != kind {
		t.Errorf("error kind %s, want %s (error: %v)", got, kind, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

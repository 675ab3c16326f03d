package provenance

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

const (
	corpusDir      = "../../../testdata/corpus/provenance"
	sigstoreDir    = "../../../testdata/corpus/sigstore"
	corpusManifest = "../../../testdata/corpus/MANIFEST.md"
)

// manifestValidity reads the validity column of a section's file table in
// the corpus MANIFEST.md ("## provenance/ — ...").
func manifestValidity(t *testing.T, section string) map[string]string {
	t.Helper()
	f, err := os.Open(corpusManifest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## "+section+" ")
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		out[name] = strings.TrimSpace(cells[len(cells)-2])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %s table in %s", section, corpusManifest)
	}
	return out
}

func readFile(t *testing.T, path string) ([]Statement, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ReadStatements(f)
}

// TestCorpusManifest checks every file of the provenance corpus against its
// MANIFEST.md verdict: valid files (including those whose signature
// verification must fail, since nothing is verified here) are read; invalid
// and malformed ones are rejected with an evidence.KindInvalid error, except
// the predicate type that lacks its scheme, which is read verbatim so that a
// policy matching the registered URI does not match it.
func TestCorpusManifest(t *testing.T) {
	validity := manifestValidity(t, "provenance/")
	files, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(validity) {
		t.Errorf("%d files in %s, %d in MANIFEST.md", len(files), corpusDir, len(validity))
	}
	for _, fi := range files {
		name := fi.Name()
		t.Run(name, func(t *testing.T) {
			v, ok := validity[name]
			if !ok {
				t.Fatalf("%s is not in MANIFEST.md", name)
			}
			sts, err := readFile(t, filepath.Join(corpusDir, name))
			switch {
			case strings.Contains(v, "predicateType is not the registered URI"):
				if err != nil {
					t.Fatalf("ReadStatements() error = %v", err)
				}
				for _, st := range sts {
					if strings.HasPrefix(st.PredicateType, "https://") {
						t.Errorf("predicateType = %q, want it reported without the scheme it lacks", st.PredicateType)
					}
				}
			case strings.HasPrefix(v, "valid"):
				if err != nil {
					t.Fatalf("MANIFEST says %q, ReadStatements() error = %v", v, err)
				}
			case strings.HasPrefix(v, "invalid"), strings.HasPrefix(v, "malformed"):
				if err == nil {
					t.Fatalf("MANIFEST says %q, ReadStatements() accepted it: %+v", v, sts)
				}
				if !evidence.IsKind(err, evidence.KindInvalid) {
					t.Errorf("kind = %q, want %q", evidence.KindOf(err), evidence.KindInvalid)
				}
			default:
				t.Fatalf("unknown validity %q", v)
			}
		})
	}
}

// stmt abbreviates what TestReadCorpus expects of one statement.
type stmt struct {
	Type, PredicateType, Envelope string
	Subjects                      int
}

const (
	v01 = StatementTypeV01
	v1  = StatementTypeV1
)

func TestReadCorpus(t *testing.T) {
	tests := []struct {
		file    string
		want    []stmt
		wantErr string
	}{
		{file: "chainloop_dsse_statement-v1_custom-predicate.json", want: []stmt{{v1, "chainloop.dev/attestation/v0.2", EnvelopeDSSE, 2}}},
		{file: "cosign-attest_dsse_cyclonedx-predicate.intoto.jsonl", want: []stmt{{v01, "https://cyclonedx.org/bom", EnvelopeDSSE, 1}}},
		// Named .intoto.jsonl but pretty-printed over many lines.
		{file: "cosign-legacy_dsse_cyclonedx-wrapped-in-Data.intoto.jsonl", want: []stmt{{v01, "https://cyclonedx.org/bom", EnvelopeDSSE, 1}}},
		{file: "cosign_dsse_custom-predicate-v1.json", want: []stmt{{v01, "cosign.sigstore.dev/attestation/v1", EnvelopeDSSE, 1}}},
		{file: "cosign_dsse_vuln-predicate-v1.json", want: []stmt{{v01, "https://cosign.sigstore.dev/attestation/vuln/v1", EnvelopeDSSE, 1}}},
		{file: "cosign_dsse_vuln-predicateType-without-scheme.json", want: []stmt{{v01, "cosign.sigstore.dev/attestation/vuln/v1", EnvelopeDSSE, 1}}},
		{file: "cosign_vuln-predicate-only.json", wantErr: `not an in-toto statement, DSSE envelope or Sigstore bundle (top-level keys: "invocation", "metadata", "scanner")`},
		{file: "google-bcid_vsa-v1_dsse.jsonl", want: []stmt{{v1, "https://slsa.dev/verification_summary/v1", EnvelopeDSSE, 1}}},
		{file: "google-cloud-build_gcloud-describe_builder-v0.2_slsa-v0.1.json", want: []stmt{{v01, "https://slsa.dev/provenance/v0.1", EnvelopeDSSE, 1}}},
		{file: "google-cloud-build_gcloud-describe_builder-v0.3_slsa-v0.1.json", want: []stmt{{v01, "https://slsa.dev/provenance/v0.1", EnvelopeDSSE, 1}}},
		{file: "google-cloud-build_invalid-signature-encoding.json", wantErr: "provenance_summary.provenance[0].envelope: signatures[0].sig is not base64"},
		{file: "google-cloud-build_statement_slsa-v0.1.json", want: []stmt{{v01, "https://slsa.dev/provenance/v0.1", EnvelopeNone, 1}}},
		{file: "guac_statement-v1_vulns-v0.2_osv.json", want: []stmt{{v1, "https://in-toto.io/attestation/vulns/v0.2", EnvelopeNone, 1}}},
		{file: "in-toto-spec-example_npm-publish-v0.1.json", want: []stmt{{v1, "https://github.com/npm/attestation/tree/main/specs/publish/v0.1", EnvelopeNone, 1}}},
		{file: "in-toto-spec-example_reference-v0.1.json", want: []stmt{{v1, "https://in-toto.io/attestation/reference/v0.1", EnvelopeNone, 1}}},
		{file: "in-toto-spec-example_release-v0.1_npm.json", want: []stmt{{v1, "https://in-toto.io/attestation/release/v0.1", EnvelopeNone, 1}}},
		{file: "in-toto-spec-example_release-v0.1_trailing-comma.json", wantErr: "malformed JSON at byte 284"},
		{file: "in-toto-spec-example_runtime-trace-v0.1_tetragon.json", wantErr: "malformed JSON at byte 2571"},
		{file: "in-toto-spec-example_test-result-v0.1_statement.json", want: []stmt{{v1, "https://in-toto.io/attestation/test-result/v0.1", EnvelopeNone, 1}}},
		{file: "in-toto-spec-example_vulns-v0.2_jsonc.json", wantErr: "malformed JSON at byte 203: invalid character '/'"},
		{file: "kubernetes-release_statement_slsa-v0.2_75-subjects.json", want: []stmt{{v01, "https://slsa.dev/provenance/v0.2", EnvelopeNone, 75}}},
		{file: "npm-registry_attestations_invalid-signature.json", want: []stmt{
			{v01, "https://github.com/npm/attestation/tree/main/specs/publish/v0.1", EnvelopeBundle, 1},
			{v1, "https://slsa.dev/provenance/v1", EnvelopeBundle, 1},
		}},
		{file: "npm-registry_attestations_slsa-v1_publish-v0.1.json", want: []stmt{
			{v01, "https://github.com/npm/attestation/tree/main/specs/publish/v0.1", EnvelopeBundle, 1},
			{v1, "https://slsa.dev/provenance/v1", EnvelopeBundle, 1},
		}},
		{file: "sigstore-js-1.3.0_statement_slsa-v0.2.json", want: []stmt{{v01, "https://slsa.dev/provenance/v0.2", EnvelopeNone, 1}}},
		{file: "sigstore-python_slsa-v0.2-predicate-only.json", wantErr: "this is a bare SLSA provenance predicate, not an in-toto statement"},
		{file: "sigstore-python_slsa-v1.0-predicate-only.json", wantErr: "this is a bare SLSA provenance predicate, not an in-toto statement"},
		{file: "slsa-github-generator_annotated-tag_dsse_slsa-v0.2.intoto.jsonl", want: []stmt{{v01, "https://slsa.dev/provenance/v0.2", EnvelopeDSSE, 2}}},
		{file: "slsa-github-generator_expired-cert_dsse_slsa-v0.2.intoto.jsonl", want: []stmt{{v01, "https://slsa.dev/provenance/v0.2", EnvelopeDSSE, 1}}},
		{file: "slsa-github-generator_generic_v1.2.0_dsse_slsa-v0.2.intoto.jsonl", want: []stmt{{v01, "https://slsa.dev/provenance/v0.2", EnvelopeDSSE, 1}}},
		{file: "slsa-github-generator_go_v1.10.0_dsse_slsa-v0.2.intoto.jsonl", want: []stmt{{v01, "https://slsa.dev/provenance/v0.2", EnvelopeDSSE, 1}}},
		{file: "slsa-github-generator_multi-subject_dsse_slsa-v0.2.intoto.jsonl", want: []stmt{{v01, "https://slsa.dev/provenance/v0.2", EnvelopeDSSE, 3}}},
		{file: "tekton-chains_dsse_slsa-v0.2.json", want: []stmt{{v01, "https://slsa.dev/provenance/v0.2", EnvelopeDSSE, 1}}},
		{file: "witness_dsse_attestation-collection.json", want: []stmt{{v01, "https://witness.testifysec.com/attestation-collection/v0.1", EnvelopeDSSE, 5}}},
		{file: "witness_dsse_payload-empty-object.json", wantErr: "payload is not a valid in-toto statement: _type is missing"},

		// Sigstore bundles that carry (or fail to carry) a statement.
		{file: "../sigstore/github_attestation_bundle-v0.3_no-tlog_tsa-only.jsonl", want: []stmt{{v1, PredicateType, EnvelopeBundle, 1}}},
		{file: "../sigstore/github_attestation_two-bundles.jsonl", want: []stmt{{v1, PredicateType, EnvelopeBundle, 1}, {v1, PredicateType, EnvelopeBundle, 1}}},
		{file: "../sigstore/slsa-github-generator_delegator_v2.1.0_bundle-v0.2_slsa-v1.0.build.slsa", want: []stmt{{v01, PredicateType, EnvelopeBundle, 1}}},
		{file: "../sigstore/trivy_cosign-bundle-v0.3_cyclonedx-attestation.json", want: []stmt{{v01, "https://cyclonedx.org/bom", EnvelopeBundle, 1}}},
		{file: "../sigstore/sigstore-js_bundle-v0.3_dsse.json", want: []stmt{{v01, "https://github.com/npm/attestation/tree/main/specs/publish/v0.1", EnvelopeBundle, 1}}},
		{file: "../sigstore/github_attestation_text-plain-payload.json", wantErr: `dsseEnvelope: payloadType "text/plain" is not an in-toto statement`},
		{file: "../sigstore/sigstore-go_bundle-v0.1_dsse-two-signatures.json", wantErr: "envelope in a Sigstore bundle has 2 signatures, want exactly one"},
		{file: "../sigstore/sigstore-python_bundle_mediaType-garbage.json", wantErr: `mediaType "this is completely wrong" is not a Sigstore bundle`},
		{file: "../sigstore/conformance_FAIL_unknown-version-99.9.json", wantErr: "is not a supported Sigstore bundle version"},
		{file: "../sigstore/github_attestation_missing-verification-material.jsonl", wantErr: "Sigstore bundle has no verificationMaterial"},
		{file: "../sigstore/github_attestation_missing-cert_publicKey.jsonl", wantErr: "Sigstore bundle has neither dsseEnvelope nor messageSignature"},
		{file: "../sigstore/cpython_3.12.5_release_bundle-v0.1.sigstore.json", wantErr: "signs an artifact (messageSignature), not an in-toto statement"},
		{file: "../sigstore/sigstore-go_trusted-root_public-good.json", wantErr: "is not a Sigstore bundle"},
		{file: "../sigstore/conformance_FAIL_malformed-json.json", wantErr: "truncated JSON"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			sts, err := readFile(t, filepath.Join(corpusDir, tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadStatements() error = %v, want it to contain %q", err, tt.wantErr)
				}
				if !evidence.IsKind(err, evidence.KindInvalid) {
					t.Errorf("kind = %q, want %q", evidence.KindOf(err), evidence.KindInvalid)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadStatements() error = %v", err)
			}
			var got []stmt
			for _, st := range sts {
				got = append(got, stmt{st.Type, st.PredicateType, st.Envelope, len(st.Subjects)})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statements mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadStatementSubjects(t *testing.T) {
	tests := []struct {
		file string
		want []Subject
	}{
		{
			file: "slsa-github-generator_multi-subject_dsse_slsa-v0.2.intoto.jsonl",
			want: []Subject{
				{Name: "artifact1", Digest: map[string]string{"sha256": "482ce8c8f7e867da3a3c05a9aee637703e17470ed1cf882a9e5b405e8f82619d"}},
				{Name: "artifact2", Digest: map[string]string{"sha256": "89cfc6954e88b2f92a7c2879d9eb085c42f3c7065d012a5066f450dbe59b2c00"}},
				{Name: "artifact3", Digest: map[string]string{"sha256": "7a5d21a6adac945561d859bd1decfc37b2408788cf3206df3519e281afd31b6e"}},
			},
		},
		{
			file: "guac_statement-v1_vulns-v0.2_osv.json",
			want: []Subject{{URI: "pkg:maven/org.apache.logging.log4j/log4j-core@2.8.1"}},
		},
		{
			file: "in-toto-spec-example_test-result-v0.1_statement.json",
			want: []Subject{{Digest: map[string]string{"gitCommit": "d20ace7968ba43c0219f62d71334c1095bab1602"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(corpusDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, got, err := ReadStatement(f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("subjects mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadStatementExactlyOne(t *testing.T) {
	f, err := os.Open(filepath.Join(corpusDir, "npm-registry_attestations_slsa-v1_publish-v0.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, _, err = ReadStatement(f)
	if err == nil || !strings.Contains(err.Error(), "holds 2 in-toto statements, want exactly one") {
		t.Fatalf("ReadStatement() error = %v", err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const goodStatement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"fw.bin","digest":{"sha256":"` +
	"4bdb495d05cbb9eb0722ec4fcfef8a02d5ca7a2fca0b0fed718447f89d39a589" + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`

func envelope(payloadType, payload, sigs string) string {
	return `{"payloadType":"` + payloadType + `","payload":"` + payload + `","signatures":` + sigs + `}`
}

func TestReadStatementsErrors(t *testing.T) {
	okSig := `[{"keyid":"","sig":"` + b64("sig") + `"}]`
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "empty", in: "", wantErr: "empty input: no in-toto statement"},
		{name: "whitespace", in: " \n\t", wantErr: "empty input"},
		{name: "array", in: `[1,2]`, wantErr: "the JSON value is JSON array, not an object"},
		{name: "null", in: `null`, wantErr: "the JSON value is null, not an object"},
		{name: "second value broken", in: goodStatement + "\n{", wantErr: "JSON value 2: truncated JSON"},
		{name: "second value not a statement", in: goodStatement + "\n" + `{"a":1}`, wantErr: `JSON value 2: not an in-toto statement, DSSE envelope or Sigstore bundle (top-level keys: "a")`},
		{name: "unknown _type", in: `{"_type":"https://in-toto.io/Statement/v2","subject":[],"predicateType":"x"}`, wantErr: `_type "https://in-toto.io/Statement/v2" is not an in-toto statement type`},
		{name: "_type not a string", in: `{"_type":1}`, wantErr: "_type is not a string"},
		{name: "no predicateType", in: `{"_type":"https://in-toto.io/Statement/v1","subject":[{"uri":"x"}]}`, wantErr: "predicateType is missing"},
		{name: "no subject", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p"}`, wantErr: "subject is missing"},
		{name: "empty subject", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[]}`, wantErr: "subject is empty"},
		{name: "subject not object", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":["fw.bin"]}`, wantErr: "subject[0] is JSON string, not an object"},
		{name: "subject names nothing", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"uri":"x"},{"name":"fw.bin"}]}`, wantErr: "subject[1] has neither a digest nor a uri"},
		{name: "digest not strings", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"digest":{"sha256":1}}]}`, wantErr: "subject[0].digest is not an object of strings"},
		{name: "empty digest value", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"digest":{"sha256":""}}]}`, wantErr: "subject[0].digest has an empty algorithm or value"},
		{name: "predicate not object", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"uri":"x"}],"predicate":"yes"}`, wantErr: "predicate is not a JSON object"},
		{name: "statement without _type", in: `{"predicateType":"p","subject":[{"uri":"x"}]}`, wantErr: "in-toto statement without _type"},
		{name: "envelope other payload type", in: envelope("text/plain", b64("hello"), okSig), wantErr: `payloadType "text/plain" is not an in-toto statement`},
		{name: "envelope payload not base64", in: envelope("application/vnd.in-toto+json", "%%%", okSig), wantErr: "payload is not base64"},
		{name: "envelope without signatures", in: envelope("application/vnd.in-toto+json", b64(goodStatement), `[]`), wantErr: "envelope has no signatures"},
		{name: "envelope signatures missing", in: `{"payloadType":"application/vnd.in-toto+json","payload":"` + b64(goodStatement) + `"}`, wantErr: "signatures is missing"},
		{name: "signature not base64", in: envelope("application/vnd.in-toto+json", b64(goodStatement), `[{"sig":"not base64!"}]`), wantErr: "signatures[0].sig is not base64"},
		{name: "signature empty", in: envelope("application/vnd.in-toto+json", b64(goodStatement), `[{"sig":""}]`), wantErr: "signatures[0]: sig is missing"},
		{name: "payload not JSON", in: envelope("application/vnd.in-toto+json", b64("hello"), okSig), wantErr: "payload malformed JSON at byte 1"},
		{name: "payload with trailing data", in: envelope("application/vnd.in-toto+json", b64(goodStatement+"{}"), okSig), wantErr: "payload has data after the JSON object"},
		{name: "payload is an envelope", in: envelope("application/vnd.in-toto+json", b64(envelope("application/vnd.in-toto+json", b64(goodStatement), okSig)), okSig), wantErr: "payload is not a valid in-toto statement: _type is missing"},
		{name: "bundle without content", in: `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"k"}}}`, wantErr: "neither dsseEnvelope nor messageSignature"},
		{name: "bundle with both", in: `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"messageSignature":{},"dsseEnvelope":{}}`, wantErr: "both dsseEnvelope and messageSignature"},
		{name: "bundle empty verification material", in: `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":{}}`, wantErr: "no verificationMaterial"},
		{name: "npm listing empty", in: `{"attestations":[]}`, wantErr: "attestations is empty"},
		{name: "npm listing lies about the type", in: `{"attestations":[{"predicateType":"https://slsa.dev/provenance/v0.2","bundle":{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"dsseEnvelope":` + envelope("application/vnd.in-toto+json", b64(goodStatement), okSig) + `}}]}`, wantErr: `attestations[0]: listed as "https://slsa.dev/provenance/v0.2" but the statement's predicateType is "https://slsa.dev/provenance/v1"`},
		{name: "gcloud without provenance", in: `{"provenance_summary":{"provenance":[]}}`, wantErr: "provenance_summary.provenance is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts, err := ReadStatements(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadStatements() = %+v, %v; want error containing %q", sts, err, tt.wantErr)
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind = %q, want %q", evidence.KindOf(err), evidence.KindInvalid)
			}
		})
	}
}

func TestReadStatementsAccepts(t *testing.T) {
	okSig := `[{"keyid":"k1","sig":"` + b64("sig") + `"}]`
	urlSafe := base64.RawURLEncoding.EncodeToString([]byte(goodStatement + " "))
	tests := []struct {
		name, in string
		want     int
	}{
		{name: "bare statement", in: goodStatement, want: 1},
		{name: "null predicate", in: strings.Replace(goodStatement, `"predicate":{}`, `"predicate":null`, 1), want: 1},
		{name: "no predicate", in: strings.Replace(goodStatement, `,"predicate":{}`, ``, 1), want: 1},
		{name: "JSON lines", in: goodStatement + "\n" + goodStatement + "\n", want: 2},
		{name: "values without newline", in: goodStatement + goodStatement, want: 2},
		{name: "DSSE with unpadded URL-safe base64", in: envelope("application/vnd.in-toto+json", urlSafe, okSig), want: 1},
		{name: "DSSE with two signatures outside a bundle", in: envelope("application/vnd.in-toto+json", b64(goodStatement), `[{"sig":"YQ=="},{"sig":"Yg=="}]`), want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts, err := ReadStatements(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadStatements() error = %v", err)
			}
			if len(sts) != tt.want {
				t.Fatalf("got %d statements, want %d", len(sts), tt.want)
			}
			d, ok := sts[0].Subjects[0].SHA256()
			if !ok || d != digest.MustParse("sha256:4bdb495d05cbb9eb0722ec4fcfef8a02d5ca7a2fca0b0fed718447f89d39a589") {
				t.Errorf("SHA256() = %v, %v", d, ok)
			}
		})
	}
}

func TestSubjectSHA256(t *testing.T) {
	tests := []struct {
		name string
		s    Subject
		ok   bool
	}{
		{name: "good", s: Subject{Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}}, ok: true},
		{name: "truncated placeholder", s: Subject{Digest: map[string]string{"sha256": "4faeb1b2..."}}},
		{name: "other algorithm only", s: Subject{Digest: map[string]string{"sha512": strings.Repeat("ab", 64)}}},
		{name: "none", s: Subject{URI: "pkg:npm/x@1"}},
	}
	for _, tt := range tests {
		if _, ok := tt.s.SHA256(); ok != tt.ok {
			t.Errorf("%s: SHA256() ok = %v, want %v", tt.name, ok, tt.ok)
		}
	}
}

// TestReadStatementsBounded checks that an endless input is cut off at the
// size bound instead of being read to its end, and that input up to the
// bound is read.
func TestReadStatementsBounded(t *testing.T) {
	const max = 64 << 10
	// An endless JSON string: the decoder would buffer it forever.
	r := io.MultiReader(strings.NewReader(`{"_type":"`), endless{})
	_, err := readStatements(r, max)
	if err == nil || err.Error() != "larger than 65536 bytes" {
		t.Fatalf("readStatements() error = %v, want a size error", err)
	}
	// Many statements, together just under the bound, are fine.
	var b strings.Builder
	for b.Len()+len(goodStatement)+1 <= max {
		b.WriteString(goodStatement + "\n")
	}
	sts, err := readStatements(strings.NewReader(b.String()), max)
	if err != nil || len(sts) != b.Len()/(len(goodStatement)+1) {
		t.Fatalf("readStatements() = %d statements, %v", len(sts), err)
	}
	// One more byte of content is too much.
	if _, err := readStatements(strings.NewReader(b.String()+strings.Repeat(" ", max-b.Len()+1)), max); err == nil {
		t.Fatal("readStatements() accepted input over the bound")
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func FuzzReadStatement(f *testing.F) {
	for _, dir := range []string{corpusDir, sigstoreDir} {
		files, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, fi := range files {
			b, err := os.ReadFile(filepath.Join(dir, fi.Name()))
			if err != nil {
				f.Fatal(err)
			}
			if len(b) <= 8<<10 { // larger seeds make minimisation crawl
				f.Add(b)
			}
		}
	}
	f.Add([]byte(goodStatement))
	f.Add([]byte(envelope("application/vnd.in-toto+json", b64(goodStatement), `[{"sig":"YQ=="}]`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		sts, err := ReadStatements(bytes.NewReader(data))
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("error of kind %q: %v", evidence.KindOf(err), err)
			}
			return
		}
		if len(sts) == 0 {
			t.Fatal("no error and no statement")
		}
		for i, st := range sts {
			if st.Type != StatementTypeV1 && st.Type != StatementTypeV01 {
				t.Fatalf("statement %d: _type %q accepted", i, st.Type)
			}
			if st.PredicateType == "" || len(st.Subjects) == 0 {
				t.Fatalf("statement %d: accepted without predicate type or subjects: %+v", i, st)
			}
			for j, s := range st.Subjects {
				if len(s.Digest) == 0 && s.URI == "" {
					t.Fatalf("statement %d subject %d names nothing: %+v", i, j, s)
				}
			}
		}
		pt, subjects, err := ReadStatement(bytes.NewReader(data))
		if len(sts) == 1 && (err != nil || pt != sts[0].PredicateType || !cmp.Equal(subjects, sts[0].Subjects)) {
			t.Fatalf("ReadStatement disagrees with ReadStatements: %q %v %v", pt, subjects, err)
		}
	})
}

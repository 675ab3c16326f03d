package verify

import (
	"bytes"
	"context"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
)

// Approval verifies a signed approval record against trust (the approver
// keys) and returns its predicate and the verified signature. The statement
// must carry the approval predicate, be valid, and have the approved
// manifest as its only subject. Errors: KindVerification for a signature
// that does not verify with trust, KindInvalid for a malformed record.
// Whether the signer may sign it (registry, role, sequence) is the caller's
// question.
func Approval(ctx context.Context, bundleJSON []byte, trust sign.Trust) (*evidence.Approval, *sign.Verified, error) {
	v, err := sign.Verify(ctx, bundleJSON, trust)
	if err != nil {
		return nil, nil, err
	}
	st := v.Statement
	if st.PredicateType != evidence.PredicateTypeApproval {
		return nil, v, evidence.Errorf(evidence.KindInvalid, "predicate type %q, want %q", st.PredicateType, evidence.PredicateTypeApproval)
	}
	var ap evidence.Approval
	if err := evidence.DecodeStrictJSON(bytes.NewReader(st.Predicate), &ap, sign.MaxBundleSize); err != nil {
		return nil, v, evidence.Errorf(evidence.KindInvalid, "approval predicate: %v", err)
	}
	if err := ap.Validate(); err != nil {
		return nil, v, err
	}
	if len(st.Subjects) != 1 || st.Subjects[0].Digest != ap.ManifestDigest {
		return nil, v, evidence.Errorf(evidence.KindInvalid, "an approval's only subject must be the manifest it approves (%s)", ap.ManifestDigest)
	}
	if (v.Certificate != nil) != (ap.Signer.Authentication == evidence.AuthOIDC) {
		return nil, v, evidence.Errorf(evidence.KindInvalid, "the record claims authentication %q, but it is signed with a %s", ap.Signer.Authentication, map[bool]string{true: "keyless certificate", false: "key"}[v.Certificate != nil])
	}
	// A key record names its key; a keyless record names the OIDC issuer
	// (the subject is the certificate's, which only exists once signed).
	want := v.SignerKeyID
	if v.Certificate != nil {
		want = v.Certificate.Issuer
	}
	if ap.Signer.Identity != want {
		return nil, v, evidence.Errorf(evidence.KindInvalid, "the record's signer.identity %q is not who signed it (%s)", ap.Signer.Identity, want)
	}
	return &ap, v, nil
}

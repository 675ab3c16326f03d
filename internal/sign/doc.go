// Package sign turns evident's records into signed attestations and checks
// them again: an in-toto Statement v1 (subjects = the released artifacts, the
// predicate = a manifest, approval or revocation) is signed as a DSSE envelope
// inside a Sigstore bundle v0.3 (JSON), the format cosign and every Sigstore
// client read.
//
// Signing is behind the small Signer interface; the key-file signer lives
// here (ECDSA P-256 or Ed25519, PKCS#8 PEM or cosign's passphrase-protected
// format). Verify checks a bundle against an explicit Trust policy and fails
// closed: an empty policy, an unknown key, a payload that is not an in-toto
// statement, or a bundle format this package does not know is an error,
// never a silent success.
//
// Bundles made here verify with cosign too:
//
//	cosign verify-blob-attestation --bundle B --key K.pub --insecure-ignore-tlog \
//	    --type PREDICATE_TYPE ARTIFACT
//
// Error kinds follow evidence: malformed input (a key file, a bundle, a
// statement) is evidence.KindInvalid; a signature or trust failure is
// evidence.KindVerification.
package sign

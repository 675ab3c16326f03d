// Package sign turns evident's records into signed attestations and checks
// them again: an in-toto Statement v1 (subjects = the released artifacts, the
// predicate = a manifest, approval or revocation) is signed as a DSSE envelope
// inside a Sigstore bundle v0.3 (JSON), the format cosign and every Sigstore
// client read.
//
// Signing is behind the small Signer interface, with two implementations:
//
//   - the key signer (NewKeySigner, NewKeySignerWithOptions): ECDSA P-256 or
//     Ed25519, PKCS#8 PEM or cosign's passphrase-protected format; with
//     timestamp authorities configured, every signature also carries an RFC
//     3161 timestamp, the trusted time a key alone cannot give;
//   - the keyless signer (NewKeylessSigner): an ephemeral key, a short-lived
//     Fulcio certificate for the CI job's OIDC identity (package oidc gets the
//     token), RFC 3161 timestamps and optionally Rekor entries, from public-good
//     Sigstore or a private or air-gapped instance (a signing config and a
//     trusted root). A short-lived certificate proves nothing without a trusted
//     time, so keyless signing without a timestamp authority or a Rekor log is
//     refused.
//
// Verify checks a bundle against an explicit Trust policy and fails closed:
// an empty policy, an unknown key, a certificate whose identity (OIDC issuer
// and subject) is not listed, a certificate without a trusted time, a
// timestamp that does not verify, a payload that is not an in-toto
// statement, or a bundle format this package does not know is an error,
// never a silent success. Trusted material comes from a Sigstore trusted
// root (ParseTrustedRoot) or, for the timestamps of key signatures, from a
// timestamp authority's certificate chain (TrustedRootFromTSAChain).
//
// Nothing here reaches the network unless a signer is configured to:
// verification is offline, and public-good Sigstore's URLs are constants.
//
// Bundles made here verify with cosign too:
//
//	cosign verify-blob-attestation --bundle B --key K.pub --insecure-ignore-tlog \
//	    --type PREDICATE_TYPE ARTIFACT
//	cosign verify-blob-attestation --bundle B --trusted-root trusted_root.json \
//	    --certificate-identity-regexp RE --certificate-oidc-issuer ISSUER ...
//
// Error kinds follow evidence: malformed input (a key file, a bundle, a
// statement, a trusted root, a trust policy entry) is evidence.KindInvalid;
// a signature or trust failure is evidence.KindVerification; an identity
// token that is expired, for another audience or refused by Fulcio is
// evidence.KindUnauthorized.
package sign

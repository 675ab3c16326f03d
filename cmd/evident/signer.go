package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/oidc"
	"github.com/evident-dev/evident/internal/sign"
)

// signerOptions are the flags of every command that signs: a key, or
// keyless with an OIDC identity; optionally trusted timestamps; and the
// Sigstore instance (public-good by default, or a private one given by a
// signing config and trusted root).
type signerOptions struct {
	key            string
	keyless        bool
	identityToken  string
	audience       string
	gitlabVariable string
	fulcioURL      string
	rekorURLs      []string
	tsaURLs        []string
	signingConfig  string
	trustedRoot    string
	tsaChain       string
}

func (o *signerOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.key, "key", "", "private key file (PKCS#8 PEM or cosign-encrypted; passphrase from EVIDENT_KEY_PASSWORD or a prompt)")
	f.BoolVar(&o.keyless, "keyless", false, "sign with a short-lived Fulcio certificate for this CI job's OIDC identity instead of a key")
	f.StringVar(&o.identityToken, "identity-token", "", "keyless: the OIDC token (default: EVIDENT_IDENTITY_TOKEN, GitHub Actions' token service, or GitLab's SIGSTORE_ID_TOKEN)")
	f.StringVar(&o.audience, "oidc-audience", "", "keyless: the token audience (default sigstore)")
	f.StringVar(&o.gitlabVariable, "gitlab-id-token-variable", "", "keyless in GitLab: the CI/CD variable holding the ID token (default SIGSTORE_ID_TOKEN)")
	f.StringVar(&o.fulcioURL, "fulcio-url", "", "keyless: Fulcio URL (default: from --signing-config, else public-good Sigstore)")
	f.StringArrayVar(&o.rekorURLs, "rekor-url", nil, "Rekor transparency log URL (repeatable)")
	f.StringArrayVar(&o.tsaURLs, "tsa", nil, "RFC 3161 timestamp authority URL, e.g. https://tsa.example/api/v1/timestamp (repeatable): signatures carry a trusted time")
	f.StringVar(&o.signingConfig, "signing-config", "", "Sigstore signing_config.json of a private instance (Fulcio, Rekor, TSA URLs)")
	f.StringVar(&o.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json: every signature is verified against it before it is kept")
	f.StringVar(&o.tsaChain, "tsa-chain", "", "PEM certificate chain of the timestamp authority (instead of --trusted-root, for key signing)")
}

// signerInfo says who a signer signs as, for records that name the signer.
type signerInfo struct {
	Identity       string
	Authentication string
}

// loadTrustedRoot reads --trusted-root or builds a root from --tsa-chain.
func loadTrustedRoot(trustedRoot, tsaChain string) (root.TrustedMaterial, []byte, error) {
	switch {
	case trustedRoot != "" && tsaChain != "":
		return nil, nil, &usageError{errors.New("give --trusted-root or --tsa-chain, not both")}
	case trustedRoot != "":
		b, err := readFileLimited(trustedRoot, 16<<20)
		if err != nil {
			return nil, nil, evidence.Errorf(evidence.KindInvalid, "trusted root %s: %v", trustedRoot, err)
		}
		tr, err := sign.ParseTrustedRoot(b)
		if err != nil {
			return nil, nil, fmt.Errorf("trusted root %s: %w", trustedRoot, err)
		}
		return tr, b, nil
	case tsaChain != "":
		b, err := readFileLimited(tsaChain, 1<<20)
		if err != nil {
			return nil, nil, evidence.Errorf(evidence.KindInvalid, "TSA chain %s: %v", tsaChain, err)
		}
		tr, err := sign.TrustedRootFromTSAChain(b)
		if err != nil {
			return nil, nil, fmt.Errorf("TSA chain %s: %w", tsaChain, err)
		}
		j, err := tr.MarshalJSON()
		if err != nil {
			return nil, nil, err
		}
		return tr, j, nil
	}
	return nil, nil, nil
}

// signer builds the signer the flags describe.
func (a *app) signer(ctx context.Context, o signerOptions) (sign.Signer, signerInfo, error) {
	switch {
	case o.keyless && o.key != "":
		return nil, signerInfo{}, &usageError{errors.New("give --key or --keyless, not both")}
	case !o.keyless && o.key == "":
		return nil, signerInfo{}, &usageError{errors.New("--key KEY or --keyless is required (or EVIDENT_KEY)")}
	}
	tr, _, err := loadTrustedRoot(o.trustedRoot, o.tsaChain)
	if err != nil {
		return nil, signerInfo{}, err
	}
	if !o.keyless {
		k, err := a.loadPrivateKey(o.key)
		if err != nil {
			return nil, signerInfo{}, err
		}
		info := signerInfo{Identity: k.Public().ID(), Authentication: evidence.AuthKeyPassphrase}
		if !k.Encrypted() {
			info.Authentication = evidence.AuthKey
		}
		if len(o.tsaURLs) == 0 {
			return sign.NewKeySigner(k), info, nil
		}
		s, err := sign.NewKeySignerWithOptions(k, sign.KeySignerOptions{TSAURLs: o.tsaURLs, TrustedRoot: tr})
		return s, info, err
	}

	src, err := oidc.Detect(oidc.Env(a.lookupEnv), nil, oidc.DetectOptions{
		Token: o.identityToken, Audience: o.audience, GitLabVariable: o.gitlabVariable,
	})
	if err != nil {
		return nil, signerInfo{}, err
	}
	opts := sign.KeylessOptions{
		Token: src.Token, Audience: o.audience, FulcioURL: o.fulcioURL,
		TSAURLs: o.tsaURLs, RekorURLs: o.rekorURLs, TrustedRoot: tr,
	}
	if o.signingConfig != "" {
		b, err := os.ReadFile(o.signingConfig)
		if err != nil {
			return nil, signerInfo{}, evidence.Errorf(evidence.KindInvalid, "signing config %s: %v", o.signingConfig, err)
		}
		if opts.SigningConfig, err = sign.ParseSigningConfig(b); err != nil {
			return nil, signerInfo{}, fmt.Errorf("signing config %s: %w", o.signingConfig, err)
		}
	}
	s, err := sign.NewKeylessSigner(opts)
	if err != nil {
		return nil, signerInfo{}, err
	}
	// A keyless signer is named by its certificate, which exists only once
	// Fulcio issued it: records name the OIDC issuer here, and the archive
	// binds the certificate's subject to the approver registry.
	return s, signerInfo{Authentication: evidence.AuthOIDC}, nil
}

// keylessIdentity is what an approval record signed keyless names as its
// signer: the OIDC issuer of the token it will be signed with. The subject
// is in the Fulcio certificate inside the bundle, which the archive binds to
// its approver registry.
func keylessIdentity(ctx context.Context, a *app, o signerOptions) (string, error) {
	src, err := oidc.Detect(oidc.Env(a.lookupEnv), nil, oidc.DetectOptions{Token: o.identityToken, Audience: o.audience, GitLabVariable: o.gitlabVariable})
	if err != nil {
		return "", err
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return "", err
	}
	c, err := oidc.ParseUnverified(tok)
	if err != nil {
		return "", err
	}
	return c.Issuer, nil
}

package sign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/evident-dev/evident/internal/evidence"
)

// serviceRetries is how often a Sigstore service answering 5xx or 429 is
// asked again (after 1 s, then 2 s, ...).
const serviceRetries = 1

// tsaService is one RFC 3161 timestamp authority.
type tsaService struct {
	url string
	ta  *sgsign.TimestampAuthority
}

// tlogService is one Rekor transparency log.
type tlogService struct {
	url string
	t   sgsign.Transparency
}

func newTSAServices(urls []string, client *http.Client) ([]tsaService, error) {
	out := make([]tsaService, 0, len(urls))
	seen := map[string]bool{}
	for _, u := range urls {
		if err := checkServiceURL("timestamp authority", u); err != nil {
			return nil, err
		}
		if seen[u] {
			return nil, evidence.Errorf(evidence.KindInvalid, "timestamp authority %s is named twice", u)
		}
		seen[u] = true
		transport, timeout := clientParts(client)
		out = append(out, tsaService{url: u, ta: sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{
			URL: u, Transport: transport, Timeout: timeout, Retries: serviceRetries,
		})})
	}
	return out, nil
}

// clientParts takes what sigstore-go's service clients accept from an
// *http.Client: its transport and its timeout (0 lets them default to 30 s).
func clientParts(c *http.Client) (http.RoundTripper, time.Duration) {
	if c == nil {
		return nil, 0
	}
	return c.Transport, c.Timeout
}

// checkServiceURL requires an absolute http(s) URL with a host and no
// credentials (they would end up in error messages).
func checkServiceURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return evidence.Errorf(evidence.KindInvalid, "%s URL %q is not an absolute http(s) URL", what, truncate(raw, 200))
	}
	if u.User != nil {
		return evidence.Errorf(evidence.KindInvalid, "%s URL must not carry credentials", what)
	}
	return nil
}

// addTimestamps asks every timestamp authority to countersign the bundle's
// signature and adds the RFC 3161 tokens to the bundle. The first failure
// ends signing: a bundle is complete or there is none.
func addTimestamps(ctx context.Context, pb *protobundle.Bundle, tsas []tsaService) error {
	if len(tsas) == 0 {
		return nil
	}
	sig := signatureBytes(pb)
	for _, s := range tsas {
		tok, err := s.ta.GetTimestamp(ctx, sig)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return fmt.Errorf("get an RFC 3161 timestamp from %s: %w", s.url, unwrapURLError(err))
		}
		vm := pb.GetVerificationMaterial()
		if vm.TimestampVerificationData == nil {
			vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		}
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: tok})
	}
	return nil
}

// addTlogEntries uploads the signature to every transparency log and adds
// the entries to the bundle. verifierPEM is the signing certificate or
// public key.
func addTlogEntries(ctx context.Context, pb *protobundle.Bundle, verifierPEM []byte, tlogs []tlogService) error {
	for _, s := range tlogs {
		if err := s.t.GetTransparencyLogEntry(ctx, verifierPEM, pb); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return fmt.Errorf("record the signature in the transparency log %s: %w", s.url, unwrapURLError(err))
		}
	}
	return nil
}

func signatureBytes(pb *protobundle.Bundle) []byte {
	if env := pb.GetDsseEnvelope(); env != nil && len(env.GetSignatures()) > 0 {
		return env.GetSignatures()[0].GetSig()
	}
	return pb.GetMessageSignature().GetSignature()
}

// unwrapURLError drops net/http's `Post "URL":` prefix, which would repeat
// the URL the caller's message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// fulcio is sigstore-go's Fulcio client with errors that say what
// happened: an unreachable server, a refused token (401/403, which is
// evidence.KindUnauthorized), a rejected request.
type fulcio struct {
	url    string
	client *sgsign.Fulcio
}

func newFulcio(u string, client *http.Client) (*fulcio, error) {
	if err := checkServiceURL("Fulcio", u); err != nil {
		return nil, err
	}
	transport, timeout := clientParts(client)
	return &fulcio{url: u, client: sgsign.NewFulcio(&sgsign.FulcioOptions{
		BaseURL: strings.TrimRight(u, "/"), Transport: transport, Timeout: timeout, Retries: serviceRetries,
	})}, nil
}

func (f *fulcio) GetCertificate(ctx context.Context, kp sgsign.Keypair, opts *sgsign.CertificateProviderOptions) ([]byte, error) {
	der, err := f.client.GetCertificate(ctx, kp, opts)
	if err == nil {
		return der, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	msg := err.Error()
	if opts != nil && opts.IDToken != "" {
		// Fulcio does not echo the token, but a proxy in front of it might.
		msg = strings.ReplaceAll(msg, opts.IDToken, "[redacted]")
	}
	var status int
	if n, _ := fmt.Sscanf(msg, "Fulcio returned %d:", &status); n == 1 {
		_, body, _ := strings.Cut(msg, ": ")
		body = truncate(strings.Join(strings.Fields(body), " "), 300)
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return nil, evidence.Errorf(evidence.KindUnauthorized, "Fulcio at %s refused the identity token (HTTP %d): %s", f.url, status, body)
		case http.StatusBadRequest:
			return nil, evidence.Errorf(evidence.KindInvalid, "Fulcio at %s rejected the certificate request (HTTP 400): %s", f.url, body)
		default:
			return nil, evidence.Errorf(evidence.KindInternal, "Fulcio at %s answered HTTP %d: %s", f.url, status, body)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return nil, evidence.Errorf(evidence.KindInternal, "get a signing certificate from Fulcio at %s: %v", f.url, ue.Err)
	}
	return nil, evidence.Errorf(evidence.KindInternal, "get a signing certificate from Fulcio at %s: %s", f.url, truncate(msg, 300))
}

// Package oidc gets the OpenID Connect identity token that keyless signing
// trades for a short-lived Fulcio certificate, and reads its claims early
// enough to say clearly what is wrong before any Sigstore service is asked.
//
// A Source yields a token: GitHubActions asks the job's token endpoint
// (ACTIONS_ID_TOKEN_REQUEST_URL, with ACTIONS_ID_TOKEN_REQUEST_TOKEN), GitLab
// reads the ID token GitLab put in a CI/CD variable (SIGSTORE_ID_TOKEN by
// default), and Static holds a token given on the command line or in
// EVIDENT_IDENTITY_TOKEN. Detect picks one from the environment.
// Environment variables are read only through an injected Env and HTTP goes
// through an injected *http.Client, so tests need neither a CI runner nor
// the internet.
//
// ParseUnverified reads a token's claims (iss, sub, aud, exp, nbf) without
// checking its signature: that is Fulcio's job. The claims only serve an
// early, clear error ("the OIDC token expired at ...", a wrong audience)
// and are never a basis for trust.
//
// A token is a credential. Nothing here logs it, and no error message,
// String or GoString method contains it.
package oidc

// Package auth is who may do what in the archive: API tokens (minted here,
// stored only as hashes), the principal a request acts as (carried in the
// context), and the one table that maps roles to actions.
//
// Authentication happens at the edge (the HTTP layer turns a bearer token
// into a Principal); authorisation happens in the archive, so that the same
// rules hold in-process and over HTTP.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Roles.
const (
	RoleCI       = "ci"
	RoleApprover = "approver"
	RoleAuditor  = "auditor"
	RoleAdmin    = "admin"
)

// Roles lists the valid roles.
var Roles = []string{RoleCI, RoleApprover, RoleAuditor, RoleAdmin}

// ValidRole reports whether r is one of Roles.
func ValidRole(r string) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Action is something a principal may be allowed to do.
type Action string

const (
	ActionPush    Action = "push"    // upload blobs, push releases
	ActionRead    Action = "read"    // look up, show, export, read blobs and the log
	ActionApprove Action = "approve" // sign approvals, rejections, revocations
)

// allowed is the whole policy: which role may do which action. Least
// privilege: CI can push but not read; auditors read; approvers read and
// approve; admins do everything.
var allowed = map[string][]Action{
	RoleCI:       {ActionPush},
	RoleAuditor:  {ActionRead},
	RoleApprover: {ActionRead, ActionApprove},
	RoleAdmin:    {ActionPush, ActionRead, ActionApprove},
}

// Can reports whether role may perform a.
func Can(role string, a Action) bool {
	for _, x := range allowed[role] {
		if x == a {
			return true
		}
	}
	return false
}

// Principal is who a request acts as.
type Principal struct {
	TokenID string // public token id; "" for local commands
	Name    string
	Role    string
	Remote  string // client address, when over the network
}

// String names the principal for the audit trail.
func (p Principal) String() string {
	if p.TokenID == "" {
		return "local:" + p.Name
	}
	return "token:" + p.TokenID + " (" + p.Name + ", " + p.Role + ")"
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal in ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// TokenPrefix starts every token, so that secret scanners recognise them.
const TokenPrefix = "evd_"

// NewToken mints a token: its secret text (shown once), its public id (the
// first 8 characters after the prefix) and the hash to store.
func NewToken() (secret, id string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", nil, err
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, TokenID(secret), HashToken(secret), nil
}

// TokenID returns the public id of a token: not secret, safe to log.
func TokenID(secret string) string {
	s := strings.TrimPrefix(secret, TokenPrefix)
	if len(s) > 8 {
		s = s[:8]
	}
	return s
}

// HashToken returns the stored form of a token: SHA-256 of its text. Tokens
// are 256 random bits, so a fast hash is enough; no salt is needed to stop a
// dictionary attack on a value that is not in any dictionary.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// EqualHash compares hashes in constant time.
func EqualHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// HashHex is the hex form of a token hash (for display of stored records).
func HashHex(h []byte) string { return hex.EncodeToString(h) }

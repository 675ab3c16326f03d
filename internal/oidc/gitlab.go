package oidc

import (
	"context"
	"regexp"
	"strings"

	"github.com/evident-dev/evident/internal/evidence"
)

// GitLabDefaultVariable is the CI/CD variable GitLab's Sigstore
// integration names the ID token, and where GitLab looks by default.
const GitLabDefaultVariable = "SIGSTORE_ID_TOKEN"

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// GitLab is a Source that reads the ID token GitLab CI puts in a CI/CD
// variable when the job declares it:
//
//	id_tokens:
//	  SIGSTORE_ID_TOKEN:
//	    aud: sigstore
type GitLab struct {
	Env      Env
	Variable string // GitLabDefaultVariable when empty
}

// Token returns the variable's value. A variable that is not set is an
// evidence.KindUnauthorized error naming the id_tokens entry to add; a
// variable name that is not one is evidence.KindInvalid.
func (g *GitLab) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := g.check(); err != nil {
		return "", err
	}
	v, _ := g.Env(g.variable())
	return strings.TrimSpace(v), nil
}

func (g *GitLab) variable() string { return cmpOr(g.Variable, GitLabDefaultVariable) }

func (g *GitLab) check() error {
	name := g.variable()
	if !variableName.MatchString(name) {
		return evidence.Errorf(evidence.KindInvalid, "%q is not a CI/CD variable name", truncate(name, 100))
	}
	var v string
	if g.Env != nil {
		v, _ = g.Env(name)
	}
	if strings.TrimSpace(v) == "" {
		return evidence.Errorf(evidence.KindUnauthorized,
			"GitLab CI did not provide an ID token in $%s: add to the job `id_tokens: {%s: {aud: %s}}`", name, name, DefaultAudience)
	}
	return nil
}

// String names the variable the token is read from, not its value.
func (g *GitLab) String() string { return "GitLab CI ID token in $" + g.variable() }

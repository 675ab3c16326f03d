package oidc

import (
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/evidence"
)

func FuzzParseUnverified(f *testing.F) {
	f.Add(jwt(githubPayload))
	f.Add(jwt(`{"iss":"https://gitlab.com","aud":["sigstore"],"exp":1767269400.25,"nbf":null}`))
	f.Add(jwt(`{"iss":"x","exp":1e300}`))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ParseUnverified(token)
		if err != nil {
			if k := evidence.KindOf(err); k != evidence.KindInvalid {
				t.Fatalf("error kind %s: %v", k, err)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if c.Issuer == "" {
			t.Fatal("claims without an issuer")
		}
		for _, now := range []time.Time{time.Unix(0, 0), time.Now(), c.Expiry, c.NotBefore} {
			if err := c.Check(now, ""); err != nil && evidence.KindOf(err) != evidence.KindUnauthorized {
				t.Fatalf("Check error kind %s: %v", evidence.KindOf(err), err)
			}
		}
	})
}

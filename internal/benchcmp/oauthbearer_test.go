package benchcmp

// Item 6 of issue 6: the OAUTHBEARER server parsing the initial response
// of RFC 7628 section 4.1 and checking its token.

import (
	"context"
	"testing"

	emersion "github.com/emersion/go-sasl"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

const (
	bearerToken = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
	bearerUser  = "user@example.com"
)

// oauthBearerIR is the initial response of RFC 7628 section 4.1.
var oauthBearerIR = []byte("n,a=" + bearerUser + ",\x01host=server.example.com\x01port=143\x01auth=Bearer " + bearerToken + "\x01\x01")

// checkBearer is the token check both libraries are given.
func checkBearer(authzid, token string) bool { return authzid == bearerUser && token == bearerToken }

func BenchmarkOAUTHBEARERServer(b *testing.B) {
	b.Run("saslkit", func(b *testing.B) {
		var m mech.Server = mech.OAuthBearer{}
		cfg := &session.Config{Tokens: mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
			if !checkBearer(r.User, r.Token) {
				return mech.ErrAuthFailed
			}
			r.Subject = r.User
			return nil
		})}
		ch := mech.Channel{Secure: true}
		measure(b, func() {
			s := newServer(b, m, ch, cfg)
			step, err := s.StartInitial(ctx, oauthBearerIR)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
		})
	})
	b.Run("emersion", func(b *testing.B) {
		auth := func(o emersion.OAuthBearerOptions) *emersion.OAuthBearerError {
			if !checkBearer(o.Username, o.Token) {
				return &emersion.OAuthBearerError{Status: "invalid_token"}
			}
			return nil
		}
		measure(b, func() {
			s := emersion.NewOAuthBearerServer(auth)
			_, done, err := s.Next(oauthBearerIR)
			if err != nil || !done {
				b.Fatal(done, err)
			}
		})
	})
}

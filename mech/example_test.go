package mech_test

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// A TokenValidator checks OAUTHBEARER (and XOAUTH2) tokens during the
// exchange. Here tokens are looked up in a map; a real one would ask the
// token issuer, with ctx. A refused token is answered with the JSON error of
// RFC 7628, and the exchange fails once the client has replied ^A.
func ExampleTokenValidator() {
	tokens := map[string]string{"tok123": "user"} // token → subject
	validator := mech.TokenValidatorFunc(func(ctx context.Context, r *mech.TokenRequest) error {
		for tok, subject := range tokens {
			if subtle.ConstantTimeCompare([]byte(tok), []byte(r.Token)) == 1 {
				r.Subject = subject // whom the token was issued to
				return nil
			}
		}
		return &mech.TokenError{Status: "invalid_token", Scope: "mail"}
	})
	// The validator is the server's, for every session: it goes in the
	// session's Config.
	cfg := &session.Config{Tokens: validator}
	m := mech.OAuthBearer{}
	ctx := context.Background()

	srv, err := session.NewServer(m, mech.Channel{Secure: true}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	step, _ := srv.StartInitial(ctx, []byte("n,a=user,\x01auth=Bearer tok123\x01\x01"))
	fmt.Println("good token:", step.Done, step.Principal.Account())

	srv, _ = session.NewServer(m, mech.Channel{Secure: true}, cfg)
	step, _ = srv.StartInitial(ctx, []byte("n,,\x01auth=Bearer stolen\x01\x01"))
	fmt.Printf("bad token: challenge %s\n", step.Challenge)
	_, err = srv.Next(ctx, []byte{0x01})
	var te *mech.TokenError
	fmt.Println("then:", errors.As(err, &te), te.Status, errors.Is(err, mech.ErrAuthFailed))
	// Output:
	// good token: true user
	// bad token: challenge {"status":"invalid_token","scope":"mail"}
	// then: true invalid_token true
}

// An Authorizer decides whether an authenticated account may act as the
// authorization identity it asked for. Here "admin" may act as anyone and
// everyone else only as themselves (Cyrus's default proxy policy,
// creds.SelfOnly). A refusal is an authorization failure, which protocols
// report apart from an authentication failure.
func ExampleOAuthBearer_authorizer() {
	policy := creds.AuthorizerFunc(func(ctx context.Context, account, authzid string) error {
		if account == "admin" {
			return nil
		}
		return creds.SelfOnly.Authorize(ctx, account, authzid)
	})
	validator := mech.TokenValidatorFunc(func(ctx context.Context, r *mech.TokenRequest) error {
		r.Subject = r.Token // a toy: the token names its holder
		return nil
	})
	cfg := &session.Config{Tokens: validator, Authorizer: policy}
	ctx := context.Background()
	for _, msg := range []string{
		"n,a=alice,\x01auth=Bearer alice\x01\x01",
		"n,a=bob,\x01auth=Bearer admin\x01\x01",
		"n,a=bob,\x01auth=Bearer alice\x01\x01",
	} {
		srv, err := session.NewServer(mech.OAuthBearer{}, mech.Channel{Secure: true}, cfg)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		step, err := srv.StartInitial(ctx, []byte(msg))
		switch {
		case errors.Is(err, creds.ErrUnauthorized):
			fmt.Println("authorization failed")
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Printf("%s acts as %s\n", step.Principal.Account(), step.Principal.Effective())
		}
	}
	// Output:
	// alice acts as alice
	// admin acts as bob
	// authorization failed
}

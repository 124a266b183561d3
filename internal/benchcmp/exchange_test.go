package benchcmp

// Item 9 of issue 6: allocations per full exchange, client and server
// sessions together, for each mechanism saslkit has. Every exchange is
// driven the way protocol code drives it: the client's Start (which reports
// "no initial response" for server-first mechanisms), the server's
// StartInitial or Start, Next until done, then the client's Success or
// SuccessData.

import (
	"context"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// exchange runs one exchange and fails b unless both sides complete it.
func exchange(b *testing.B, cm mech.Client, sm mech.Server, c creds.Client, cch, sch mech.Channel, scfg *session.Config) {
	cli := session.NewClient(cm, c, cch, nil)
	srv := newServer(b, sm, sch, scfg)
	ir, ok, err := cli.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var step session.Step
	if ok {
		step, err = srv.StartInitial(ctx, ir)
	} else {
		step, err = srv.Start(ctx)
	}
	for err == nil && !step.Done {
		var resp []byte
		if resp, err = cli.Next(ctx, step.Challenge); err != nil {
			b.Fatal(err)
		}
		step, err = srv.Next(ctx, resp)
	}
	if err != nil {
		b.Fatal(err)
	}
	if step.HasFinal {
		err = cli.SuccessData(ctx, step.Final)
	} else {
		err = cli.Success(ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkExchange(b *testing.B) {
	k := exchangeKeys(b)
	ccs, scs := tlsPair(b)
	pw := creds.Client{Authcid: plainUser, Password: plainPass}
	verify := plainConfig(b, "store")
	secure := mech.Channel{Secure: true}
	// The validator accepts every token, as the token's user.
	accept := &session.Config{Tokens: mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		r.Subject = r.User
		return nil
	})}
	scramUser := creds.Client{Authcid: user, Password: password}
	store := scramConfig(b, user, k)

	cases := []struct {
		name     string
		cm       mech.Client
		sm       mech.Server
		c        creds.Client
		cch, sch mech.Channel
		cfg      *session.Config
	}{
		{"PLAIN", mech.Plain{}, mech.Plain{}, pw, secure, secure, verify},
		{"LOGIN", mech.Login{}, mech.Login{}, pw, secure, secure, verify},
		{"CRAM-MD5", mech.CRAMMD5{}, mech.CRAMMD5{Hostname: "bench.example"}, pw, secure, secure, verify},
		{"XOAUTH2", mech.XOAuth2{}, mech.XOAuth2{}, creds.Client{Authcid: plainUser, Token: bearerToken}, secure, secure, accept},
		{"OAUTHBEARER", mech.OAuthBearer{}, mech.OAuthBearer{}, creds.Client{Authcid: bearerUser, Token: bearerToken}, secure, secure, accept},
		{"EXTERNAL", mech.External{}, mech.External{}, creds.Client{}, secure, mech.Channel{Secure: true, External: plainUser}, nil},
		{"ANONYMOUS", mech.Anonymous{}, mech.Anonymous{}, creds.Client{}, secure, secure, nil},
		// The SCRAM clients keep their keys (scram.KeyCache), warmed before
		// the timer: BenchmarkSCRAMExchange has the fresh client.
		{"SCRAM-SHA-256", scram.Mechanism{Cache: &scram.KeyCache{}}, scram.Mechanism{}, scramUser, mech.Channel{}, mech.Channel{}, store},
		{"SCRAM-SHA-256-PLUS", scram.Mechanism{Plus: true, Cache: &scram.KeyCache{}}, scram.Mechanism{Plus: true}, scramUser,
			mech.ClientTLSChannel(&ccs), mech.ServerTLSChannel(&scs, nil), store},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			exchange(b, tc.cm, tc.sm, tc.c, tc.cch, tc.sch, tc.cfg)
			measure(b, func() {
				exchange(b, tc.cm, tc.sm, tc.c, tc.cch, tc.sch, tc.cfg)
			})
		})
	}
}

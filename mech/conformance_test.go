package mech_test

import (
	"context"
	"crypto/subtle"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/mechtest"
	"github.com/saslkit/saslkit/session"
)

// conformanceConfig is a server configuration in which alice's password is
// "pencil" (kept in the clear, for CRAM-MD5) and her token "tok123".
func conformanceConfig(t *testing.T) *session.Config {
	t.Helper()
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", Password: "{PLAIN}pencil"}); err != nil {
		t.Fatal(err)
	}
	return &session.Config{
		Verifier: &creds.Verifier{Store: &store, Secret: []byte("conformance test secret, 32 oct")},
		Tokens: mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
			if subtle.ConstantTimeCompare([]byte(r.Token), []byte("tok123")) != 1 {
				return mech.ErrAuthFailed
			}
			r.Subject = "alice"
			return nil
		}),
	}
}

// TestConformance holds every built-in mechanism but SCRAM (tested in its
// package) to mechtest's properties.
func TestConformance(t *testing.T) {
	cfg := conformanceConfig(t)
	good := creds.Client{Authcid: "alice", Password: "pencil", Token: "tok123", Trace: "guest"}
	wrong := &creds.Client{Authcid: "alice", Password: "wrong-password", Token: "wrong-token"}
	unknown := &creds.Client{Authcid: "bob", Password: "pencil", Token: "tok123"}
	for _, tt := range []struct {
		m interface {
			mech.Server
			mech.Client
		}
		account        string
		wrong, unknown *creds.Client
		tolerant       bool
		ch             mech.Channel
	}{
		{mech.Plain{}, "alice", wrong, unknown, false, mech.Channel{Secure: true}},
		{mech.Login{}, "alice", wrong, unknown, false, mech.Channel{Secure: true}},
		{mech.CRAMMD5{}, "alice", wrong, unknown, false, mech.Channel{}},
		// A token names its subject: an unknown user is not a thing.
		{mech.OAuthBearer{}, "alice", wrong, nil, true, mech.Channel{Secure: true}},
		{mech.XOAuth2{}, "alice", wrong, nil, false, mech.Channel{Secure: true}},
		{mech.External{}, "alice", nil, nil, true, mech.Channel{Secure: true, External: "alice"}},
		{mech.Anonymous{}, "", nil, nil, true, mech.Channel{}},
	} {
		t.Run(tt.m.Name(), func(t *testing.T) {
			mechtest.Run(t, mechtest.Setup{
				Server: tt.m, Client: tt.m, Config: cfg,
				ServerChannel: tt.ch, ClientChannel: mech.Channel{Secure: tt.ch.Secure},
				Creds: good, Account: tt.account, Wrong: tt.wrong, Unknown: tt.unknown,
				Tolerant: tt.tolerant,
			})
		})
	}
}

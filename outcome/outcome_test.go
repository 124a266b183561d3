package outcome_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/outcome"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// TestOfRealErrors sorts the errors real sessions and registries return,
// not just the sentinels.
func TestOfRealErrors(t *testing.T) {
	ctx := context.Background()
	pw, err := creds.HashPassword("pencil", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	store := &creds.MemoryStore{}
	if err := store.Add(creds.Account{Name: "alice", Password: pw, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: store}, MaxMessage: 200,
		Tokens: mech.TokenValidatorFunc(func(context.Context, *mech.TokenRequest) error { return &mech.TokenError{Status: "invalid_token"} })}
	plain := func(ir string) error {
		s, err := session.NewServer(mech.Plain{}, mech.Channel{Secure: true}, cfg)
		if err != nil {
			return err
		}
		_, err = s.StartInitial(ctx, []byte(ir))
		return err
	}
	scramRun := func(c creds.Client) error {
		s, err := session.NewServer(scram.Mechanism{}, mech.Channel{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = session.Run(ctx, session.NewClient(scram.Mechanism{}, c, mech.Channel{}, nil), s, nil)
		return err
	}
	reg, err := registry.Named(&registry.Config{Session: *cfg}, "PLAIN", "EXTERNAL")
	if err != nil {
		t.Fatal(err)
	}
	_, errBase64 := session.Decode([]byte("!!"), 0)
	_, errPlainClear := reg.NewServer("PLAIN", mech.Channel{})
	_, errUnknown := reg.NewServer("X-NOPE", mech.Channel{Secure: true})
	_, errNotOffered := reg.NewServer("EXTERNAL", mech.Channel{Secure: true})
	_, errNoStore := session.NewServer(mech.Plain{}, mech.Channel{}, nil)
	tokenSrv, err := session.NewServer(mech.OAuthBearer{}, mech.Channel{Secure: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, errToken := session.Run(ctx, session.NewClient(mech.OAuthBearer{}, creds.Client{Authcid: "alice", Token: "t"}, mech.Channel{}, nil), tokenSrv, nil)

	tests := []struct {
		name string
		err  error
		want outcome.Kind
	}{
		{"PLAIN right", plain("\x00alice\x00pencil"), outcome.OK},
		{"PLAIN wrong password", plain("\x00alice\x00wrong"), outcome.BadCredentials},
		{"PLAIN unknown user", plain("\x00bob\x00pencil"), outcome.BadCredentials},
		{"PLAIN authzid refused", plain("bob\x00alice\x00pencil"), outcome.Unauthorized},
		{"PLAIN malformed", plain("alice"), outcome.Malformed},
		{"PLAIN too large", plain(string(make([]byte, 201))), outcome.LimitExceeded},
		{"SCRAM wrong password", scramRun(creds.Client{Authcid: "alice", Password: "wrong"}), outcome.BadCredentials},
		{"SCRAM unknown user", scramRun(creds.Client{Authcid: "bob", Password: "pencil"}), outcome.BadCredentials},
		{"OAUTHBEARER refused token", errToken, outcome.BadCredentials},
		{"bad base64", errBase64, outcome.BadEncoding},
		{"PLAIN in the clear", errPlainClear, outcome.EncryptionRequired},
		{"unknown mechanism", errUnknown, outcome.UnknownMechanism},
		{"EXTERNAL without a certificate", errNotOffered, outcome.NotOffered},
		{"PLAIN without a store", errNoStore, outcome.Misconfigured},
		{"cancelled", fmt.Errorf("imap: %w", outcome.ErrCancelled), outcome.Cancelled},
	}
	for _, tt := range tests {
		if got := outcome.Of(tt.err); got != tt.want {
			t.Errorf("%s: Of(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestUnknownKind(t *testing.T) {
	k := outcome.Kind(99)
	if k.String() != "Kind(99)" || k.IMAP() != outcome.Temporary.IMAP() || k.SMTP() != outcome.Temporary.SMTP() || k.XMPP() != outcome.Temporary.XMPP() {
		t.Errorf("Kind(99): %v %v %v %v", k, k.IMAP(), k.SMTP(), k.XMPP())
	}
	if code, ok := outcome.Cancelled.LDAP(); ok {
		t.Errorf("Cancelled.LDAP() = %d, true; want no reply", code)
	}
}

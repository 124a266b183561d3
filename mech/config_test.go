package mech_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

// TestCheckConfig: each mechanism that needs part of the server's
// configuration refuses, when the server is built, a configuration that
// lacks it, with an error wrapping creds.ErrMisconfigured that names the
// mechanism.
func TestCheckConfig(t *testing.T) {
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, creds.MinSCRAMIterations, false)
	if err != nil {
		t.Fatal(err)
	}
	clear := newVerifier(t, creds.Account{Name: "user", Password: clearPW("pencil")})
	hashedOnly := newVerifier(t, creds.Account{Name: "user", Password: hashed(t, "pencil")})
	scramOnly := newVerifier(t, creds.Account{Name: "user", SCRAM: []creds.SCRAMKeys{keys}})
	mixed := newVerifier(t,
		creds.Account{Name: "user", Password: hashed(t, "pencil")},
		creds.Account{Name: "legacy", Password: clearPW("pencil")},
	)
	empty := newVerifier(t)
	tests := []struct {
		name string
		m    mech.Server
		in   mech.ServerInput
		ok   bool
	}{
		{"PLAIN without Verifier", mech.Plain{}, mech.ServerInput{}, false},
		{"PLAIN with a Verifier without store", mech.Plain{}, mech.ServerInput{Verifier: &creds.Verifier{}}, false},
		{"PLAIN with a token validator only", mech.Plain{}, mech.ServerInput{Tokens: acceptAll}, false},
		{"PLAIN with hashed passwords", mech.Plain{}, mech.ServerInput{Verifier: hashedOnly}, true},
		{"PLAIN with SCRAM keys", mech.Plain{}, mech.ServerInput{Verifier: scramOnly}, true},
		{"PLAIN with an empty store", mech.Plain{}, mech.ServerInput{Verifier: empty}, true},
		{"LOGIN without Verifier", mech.Login{}, mech.ServerInput{}, false},
		{"LOGIN with a Verifier without store", mech.Login{}, mech.ServerInput{Verifier: &creds.Verifier{}}, false},
		{"LOGIN with hashed passwords", mech.Login{}, mech.ServerInput{Verifier: hashedOnly}, true},
		{"CRAM-MD5 without Verifier", mech.CRAMMD5{}, mech.ServerInput{}, false},
		{"CRAM-MD5 with only hashed passwords", mech.CRAMMD5{}, mech.ServerInput{Verifier: hashedOnly}, false},
		{"CRAM-MD5 with only SCRAM keys", mech.CRAMMD5{}, mech.ServerInput{Verifier: scramOnly}, false},
		{"CRAM-MD5 with an empty store", mech.CRAMMD5{}, mech.ServerInput{Verifier: empty}, false},
		{"CRAM-MD5 with clear passwords", mech.CRAMMD5{}, mech.ServerInput{Verifier: clear}, true},
		{"CRAM-MD5 with some clear passwords", mech.CRAMMD5{}, mech.ServerInput{Verifier: mixed}, true},
		{"OAUTHBEARER without Tokens", mech.OAuthBearer{}, mech.ServerInput{}, false},
		{"OAUTHBEARER with a Verifier only", mech.OAuthBearer{}, mech.ServerInput{Verifier: clear}, false},
		{"OAUTHBEARER with Tokens", mech.OAuthBearer{}, mech.ServerInput{Tokens: acceptAll}, true},
		{"XOAUTH2 without Tokens", mech.XOAuth2{}, mech.ServerInput{}, false},
		{"XOAUTH2 with a Verifier only", mech.XOAuth2{}, mech.ServerInput{Verifier: clear}, false},
		{"XOAUTH2 with Tokens", mech.XOAuth2{}, mech.ServerInput{Tokens: acceptAll}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc, ok := tc.m.(mech.ConfigChecker)
			if !ok {
				t.Fatalf("%s is not a ConfigChecker", tc.m.Name())
			}
			in := tc.in
			err := cc.CheckConfig(&in)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckConfig = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, creds.ErrMisconfigured) {
				t.Fatalf("CheckConfig = %v, want an error wrapping ErrMisconfigured", err)
			}
			if !strings.Contains(err.Error(), tc.m.Name()) {
				t.Errorf("error %q does not name %s", err, tc.m.Name())
			}
			var me *mech.Error
			if !errors.As(err, &me) || me.Mechanism != tc.m.Name() {
				t.Errorf("error %#v is not a *mech.Error of %s", err, tc.m.Name())
			}
		})
	}
	// The mechanisms that need nothing of the server's configuration run
	// with none.
	for _, m := range []mech.Server{mech.External{}, mech.Anonymous{}} {
		if cc, ok := m.(mech.ConfigChecker); ok {
			if err := cc.CheckConfig(&mech.ServerInput{}); err != nil {
				t.Errorf("%s: CheckConfig = %v, want nil", m.Name(), err)
			}
		}
	}
}

func TestProperties(t *testing.T) {
	tests := []struct {
		m    mech.Server
		want mech.Properties
	}{
		{mech.Plain{}, mech.Properties{ClearSecret: true, Uses: mech.UsesPassword}},
		{mech.Login{}, mech.Properties{ClearSecret: true, ServerFirst: true, Uses: mech.UsesPassword}},
		{mech.CRAMMD5{}, mech.Properties{ServerFirst: true, Uses: mech.UsesPassword}},
		// A bearer token is a reusable secret, sent as PLAIN sends a
		// password.
		{mech.OAuthBearer{}, mech.Properties{ClearSecret: true, Uses: mech.UsesToken}},
		{mech.XOAuth2{}, mech.Properties{ClearSecret: true, Uses: mech.UsesToken}},
		{mech.External{}, mech.Properties{External: true, Uses: mech.UsesNothing}},
		{mech.Anonymous{}, mech.Properties{Anonymous: true, Uses: mech.UsesNothing}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.m.Properties()); diff != "" {
			t.Errorf("%s properties (-want +got):\n%s", tc.m.Name(), diff)
		}
	}
}

package mech_test

import (
	"errors"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

// TestCRAMMD5EmptySecret: anyone can compute HMAC-MD5 with an empty key, so
// an identity with an empty password must not verify, as
// creds.Identity.Compare never matches an empty password.
func TestCRAMMD5EmptySecret(t *testing.T) {
	const challenge = "<1896.697170952@postoffice.reston.mci.net>"
	cli, err := mech.CRAMMD5{}.ClientAttempt(ctx, &mech.ClientInput{
		Creds:     &creds.Client{Authcid: "tim", Password: ""},
		Challenge: []byte(challenge),
	})
	if err != nil {
		t.Fatal(err)
	}
	in := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{{Challenge: []byte(challenge), Response: cli.Response}}}
	res, err := mech.CRAMMD5{}.ServerAttempt(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   creds.Identity
	}{
		{"empty", creds.ClearIdentity{Name: "tim"}},
		{"empty noprep", creds.ClearIdentity{Name: "tim", NoPrep: true}},
		{"mapped to nothing", creds.ClearIdentity{Name: "tim", Password: "\u00AD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := res.Creds.Verify(tc.id); !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("Verify = %v, want ErrBadCredentials", err)
			}
		})
	}
}

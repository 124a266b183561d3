package mech_test

import (
	"errors"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

// TestCRAMMD5EmptySecret: anyone can compute HMAC-MD5 with an empty key, so
// an account with an empty password must not log in, as an empty password
// never matches.
func TestCRAMMD5EmptySecret(t *testing.T) {
	const challenge = "<1896.697170952@postoffice.reston.mci.net>"
	cli, err := mech.CRAMMD5{}.ClientAttempt(ctx, &mech.ClientInput{
		Creds:     &creds.Client{Authcid: "tim", Password: ""},
		Challenge: []byte(challenge),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		acct creds.Account
	}{
		{"no password", creds.Account{Name: "tim"}},
		{"no password noprep", creds.Account{Name: "tim", NoPrep: true}},
		{"empty noprep", creds.Account{Name: "tim", Password: clearPW(""), NoPrep: true}},
		{"mapped to nothing", creds.Account{Name: "tim", Password: clearPW("\u00AD")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Another account holds a clear password, so that the store
			// serves CRAM-MD5 at all.
			v := newVerifier(t, tc.acct, creds.Account{Name: "other", Password: clearPW("secret")})
			in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v, Pairs: []mech.Pair{{Challenge: []byte(challenge), Response: cli.Response}}}
			if err := (mech.CRAMMD5{}).CheckConfig(in); err != nil {
				t.Fatal(err)
			}
			res, err := mech.CRAMMD5{}.ServerAttempt(ctx, in)
			checkBadCredentials(t, "CRAM-MD5", res, err)
		})
	}
	// A store refuses an empty clear password outright.
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "tim", Password: clearPW("")}); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("Add with an empty clear password: %v, want ErrMisconfigured", err)
	}
}

package creds_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
)

// A server keeps its accounts in a store and checks every password
// through one Verifier. A wrong password and an unknown user give the same
// error; success gives the account's canonical name.
func ExampleVerifier_CheckPassword() {
	ctx := context.Background()
	// A real deployment hashes with nil (hash.Default, Argon2id); few
	// PBKDF2 rounds keep the example fast.
	pw, err := creds.HashPassword("correct horse", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", Password: pw}); err != nil {
		panic(err)
	}
	v := &creds.Verifier{Store: &store}

	account, err := v.CheckPassword(ctx, "alice", "correct horse")
	fmt.Printf("right password: %q %v\n", account, err)
	_, err = v.CheckPassword(ctx, "alice", "battery staple")
	fmt.Println("wrong password:", err)
	_, err = v.CheckPassword(ctx, "mallory", "correct horse")
	fmt.Println("unknown user:  ", err, errors.Is(err, creds.ErrBadCredentials))
	// Output:
	// right password: "alice" <nil>
	// wrong password: saslkit/creds: invalid credentials
	// unknown user:   saslkit/creds: invalid credentials true
}

// A store matches user names after SASLprep: every spelling that
// prepares to an account's name finds it, and the application is given the
// account's own name. Names that collide after SASLprep cannot both be
// stored.
func ExampleMemoryStore_Lookup() {
	ctx := context.Background()
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "admin", Password: "{PLAIN}pencil"}); err != nil {
		panic(err)
	}
	for _, name := range []string{"admin", "ａｄｍｉｎ", "ad\u00ADmin", "𝐚𝐝𝐦𝐢𝐧", "Admin"} {
		id, err := store.Lookup(ctx, name)
		if err != nil {
			fmt.Printf("%+q: %v\n", name, err)
			continue
		}
		fmt.Printf("%+q: %s\n", name, id.AccountName())
	}
	fmt.Println(store.Add(creds.Account{Name: "ａｄｍｉｎ", Password: "{PLAIN}other"}))
	// Output:
	// "admin": admin
	// "\uff41\uff44\uff4d\uff49\uff4e": admin
	// "ad\u00admin": admin
	// "\U0001d41a\U0001d41d\U0001d426\U0001d422\U0001d427": admin
	// "Admin": saslkit/creds: unknown user
	// saslkit/creds: misconfigured: account "ａｄｍｉｎ" collides with account "admin": both are "admin" after SASLprep
}

// Once an account has authenticated, Authorize applies the policy to the
// authorization identity it asked for. An authzid that names the account
// itself is dropped without asking the policy; another one reaches the
// policy prepared with SASLprep.
func ExampleAuthorize() {
	ctx := context.Background()
	policy := creds.AuthorizerFunc(func(_ context.Context, account, authzid string) error {
		if account == "admin" {
			return nil // admin may act as anybody
		}
		return fmt.Errorf("%s may not act as %s: %w", account, authzid, creds.ErrUnauthorized)
	})
	for _, p := range []*creds.Principal{
		creds.NewPrincipal("PLAIN", "alice", ""),
		creds.NewPrincipal("PLAIN", "alice", "ａｌｉｃｅ"),
		creds.NewPrincipal("PLAIN", "admin", "ｇｕｅｓｔ"),
		creds.NewPrincipal("PLAIN", "alice", "bob"),
	} {
		got, err := creds.Authorize(ctx, policy, p)
		if err != nil {
			fmt.Println("refused:", err, errors.Is(err, creds.ErrUnauthorized))
			continue
		}
		fmt.Println("acts as", got.Effective(), "-", got)
	}
	// With the default policy, SelfOnly (nil), an account acts only as
	// itself.
	_, err := creds.Authorize(ctx, nil, creds.NewPrincipal("PLAIN", "admin", "guest"))
	fmt.Println("self only:", err)
	// Output:
	// acts as alice - PLAIN account="alice"
	// acts as alice - PLAIN account="alice"
	// acts as guest - PLAIN account="admin" authzid="guest"
	// refused: alice may not act as bob: saslkit/creds: not authorized to act as the requested identity true
	// self only: saslkit/creds: not authorized to act as the requested identity
}

// Stored SCRAM keys are derived from the password once, and are all a
// SCRAM server needs; this is the RFC 7677 example's salt, so the keys are
// the RFC's.
func ExampleDeriveSCRAMKeys() {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	k, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", salt, 4096, false)
	if err != nil {
		panic(err)
	}
	fmt.Println(k.RFC5803())
	parsed, err := creds.ParseSCRAMKeys(k.Dovecot())
	fmt.Println(parsed.Iterations, err)
	// Output:
	// SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=
	// 4096 <nil>
}

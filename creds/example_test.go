package creds_test

import (
	"errors"
	"fmt"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
)

// Credentials a PLAIN server produced are verified against the user's
// identity, stored in the clear or as a password hash. Wrong passwords and
// unknown users give the same error.
func ExampleServer_Verify() {
	// What a PLAIN server produces for "\x00alice\x00correct horse".
	c := creds.NewPasswordServer("PLAIN", "alice", "", "correct horse")

	clear := creds.ClearIdentity{Name: "alice", Password: "correct horse"}
	// A real deployment uses hash.Default (Argon2id); few rounds keep the
	// example fast.
	hashed, err := creds.NewHashedIdentity("alice", "correct horse", hash.PBKDF2{Digest: "sha256", Rounds: 1000}, false)
	if err != nil {
		panic(err)
	}
	wrong := creds.ClearIdentity{Name: "alice", Password: "battery staple"}

	fmt.Println("clear: ", c.Verify(clear))
	fmt.Println("hashed:", c.Verify(hashed))
	fmt.Println("wrong: ", c.Verify(wrong))
	fmt.Println("unknown user is bad credentials:", errors.Is(c.Verify(nil), creds.ErrBadCredentials))
	// Output:
	// clear:  <nil>
	// hashed: <nil>
	// wrong:  saslkit/creds: invalid credentials
	// unknown user is bad credentials: true
}

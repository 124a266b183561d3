package outcome_test

import (
	"context"
	"fmt"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/outcome"
	"github.com/saslkit/saslkit/session"
)

// A server sorts what an exchange returned and sends the protocol's fixed
// reply, keeping the error itself for its log.
func ExampleOf() {
	ctx := context.Background()
	// Few PBKDF2 rounds keep the example fast; use HashPassword(pw, nil).
	pw, err := creds.HashPassword("pencil", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", Password: pw}); err != nil {
		panic(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}

	for _, ir := range []string{"\x00alice\x00pencil", "\x00alice\x00wrong", "bob\x00alice\x00pencil", "alice"} {
		s, err := session.NewServer(mech.Plain{}, mech.Channel{Secure: true}, cfg)
		if err != nil {
			panic(err)
		}
		_, err = s.StartInitial(ctx, []byte(ir))
		k := outcome.Of(err)
		fmt.Printf("%-16s IMAP: a1 %s\n", k.String()+":", k.IMAP())
		fmt.Printf("%-16s SMTP: %s\n", "", k.SMTP())
	}
	// Output:
	// ok:              IMAP: a1 OK Authentication completed
	//                  SMTP: 235 2.7.0 Authentication successful
	// bad credentials: IMAP: a1 NO [AUTHENTICATIONFAILED] Authentication failed
	//                  SMTP: 535 5.7.8 Authentication credentials invalid
	// unauthorized:    IMAP: a1 NO [AUTHORIZATIONFAILED] Not authorized to act as the requested identity
	//                  SMTP: 535 5.7.8 Not authorized to act as the requested identity
	// malformed:       IMAP: a1 BAD Invalid response
	//                  SMTP: 501 5.5.2 Invalid response
}

package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// A server runs PLAIN over a pretend line protocol in which the client's
// command carries a base64 initial response, as IMAP's
// "AUTHENTICATE PLAIN <ir>" does. The session checks the password through
// the Verifier, and a done step names the account.
func ExampleServer() {
	ctx := context.Background()
	// A real deployment hashes with nil (Argon2id); few PBKDF2 rounds keep
	// the example fast.
	pw, err := creds.HashPassword("tanstaaftanstaaf", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "tim", Password: pw}); err != nil {
		panic(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}

	for _, line := range []string{
		"AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm", // RFC 4616 section 4
		"AUTHENTICATE PLAIN AHRpbQB3cm9uZw==",             // wrong password
		"AUTHENTICATE PLAIN AHRpbQ!!",                     // not base64
	} {
		fields := strings.Fields(line)
		sess, err := session.NewServer(mech.Plain{}, mech.Channel{Secure: true}, cfg)
		if err != nil {
			panic(err) // a configuration error: cfg has no Verifier
		}
		ir, err := session.Decode([]byte(fields[2]), 0)
		if err != nil {
			fmt.Println("BAD", err)
			continue
		}
		step, err := sess.StartInitial(ctx, ir)
		// A longer exchange loops here: send "+ "+session.Encode(step.Challenge),
		// read the reply, Decode it and call sess.Next.
		switch {
		case err != nil:
			fmt.Println("NO", err)
		case step.Done:
			fmt.Println("OK authenticated as", step.Principal.Effective())
		}
	}

	// Without a Verifier, PLAIN has nothing to check passwords against:
	// the session is refused, not a login.
	_, err = session.NewServer(mech.Plain{}, mech.Channel{Secure: true}, nil)
	fmt.Println("without a Verifier: misconfigured:", errors.Is(err, creds.ErrMisconfigured))
	// Output:
	// OK authenticated as tim
	// NO saslkit/mech: PLAIN: invalid credentials
	// BAD saslkit/session: invalid base64
	// without a Verifier: misconfigured: true
}

// A client runs CRAM-MD5, a server-first mechanism: Start reports that
// there is no initial response, and Next answers the server's challenge.
// The challenge is the one of RFC 2195 section 2.
func ExampleClient() {
	ctx := context.Background()
	c := creds.Client{Authcid: "tim", Password: "tanstaaftanstaaf"}
	sess := session.NewClient(mech.CRAMMD5{}, c, mech.Channel{}, nil)

	ir, ok, err := sess.Start(ctx)
	if err != nil {
		panic(err)
	}
	if ok {
		fmt.Println("C: AUTHENTICATE CRAM-MD5", session.Encode(ir))
	} else {
		fmt.Println("C: AUTHENTICATE CRAM-MD5")
	}

	line := "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
	fmt.Println("S: +", line)
	challenge, err := session.Decode([]byte(line), 0)
	if err != nil {
		panic(err)
	}
	resp, err := sess.Next(ctx, challenge)
	if err != nil {
		panic(err)
	}
	fmt.Println("C:", session.Encode(resp))

	fmt.Println("S: OK")
	if err := sess.Success(ctx); err != nil {
		panic(err)
	}
	fmt.Printf("sent %q\n", resp)
	// Output:
	// C: AUTHENTICATE CRAM-MD5
	// S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
	// C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
	// S: OK
	// sent "tim b913a602c7eda7a495b4e6e7334d3890"
}

// GoSASL serves a session to go-smtp and go-imap v2, which take
// emersion/go-sasl's sasl.Server. done comes only for an authenticated,
// authorized client, and an empty challenge goes out as nil.
func ExampleServer_GoSASL() {
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", Password: "{PLAIN}secret"}); err != nil {
		panic(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}
	for _, password := range []string{"guess", "secret"} {
		srv, err := session.NewServer(mech.Plain{}, mech.Channel{Secure: true}, cfg)
		if err != nil {
			panic(err)
		}
		g := srv.GoSASL(context.Background()) // the connection's context
		challenge, done, err := g.Next(nil)   // no initial response
		fmt.Printf("nil challenge %v, done %v, err %v\n", challenge == nil, done, err)
		_, done, err = g.Next([]byte("\x00alice\x00" + password))
		fmt.Printf("%s: done %v, bad credentials %v", password, done, errors.Is(err, creds.ErrBadCredentials))
		if done {
			fmt.Printf(", account %s", g.Step().Principal.Account())
		}
		fmt.Println()
	}
	// Output:
	// nil challenge true, done false, err <nil>
	// guess: done false, bad credentials true
	// nil challenge true, done false, err <nil>
	// secret: done true, bad credentials false, account alice
}

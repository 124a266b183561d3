package gosasl_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/saslkit/saslkit/adapters/gosasl"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
)

// SCRAM-SHA-256 through go-smtp's client: Authenticate runs smtp.Client.Auth
// with the adapter and then checks the server's signature. The server here
// is an in-process go-smtp server whose AUTH is saslkit's.
func ExampleAuthenticate() {
	addr, stop, err := startSMTP(honest) // an SMTP server on loopback
	if err != nil {
		log.Fatal(err)
	}
	defer stop()

	reg, err := registry.Named(nil, "SCRAM-SHA-256", "PLAIN")
	if err != nil {
		log.Fatal(err)
	}
	for _, pw := range []string{"pencil", "wrong"} {
		c, err := smtp.Dial(addr)
		if err != nil {
			log.Fatal(err)
		}
		// Over TLS, pass mech.ClientTLSChannel(&state) instead.
		s, err := reg.NewClient("SCRAM-SHA-256", creds.Client{Authcid: "user", Password: pw}, mech.Channel{})
		if err != nil {
			log.Fatal(err)
		}
		err = gosasl.Authenticate(context.Background(), s, c.Auth)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			fmt.Println(pw+":", "authenticated, and the server proved it knows the password")
		case errors.As(err, &se):
			fmt.Println(pw+":", "refused with", se.Code)
		default:
			fmt.Println(pw+":", err)
		}
		c.Close()
	}
	// Output:
	// pencil: authenticated, and the server proved it knows the password
	// wrong: refused with 535
}

// SCRAM-SHA-256 through go-imap v2: the connection under imapclient is an
// IMAPConn, so that the empty response to the server's signature is an
// empty line, which Dovecot requires, and not go-imap's "=". The server
// here is a minimal in-process IMAP server.
func ExampleIMAPConn_Authenticate() {
	f, stop, err := startIMAP(honest, true) // an IMAP server on loopback
	if err != nil {
		log.Fatal(err)
	}
	defer stop()

	conn, err := net.Dial("tcp", f.addr) // or tls.Dial, for IMAP over TLS
	if err != nil {
		log.Fatal(err)
	}
	ic := gosasl.NewIMAPConn(conn)
	c := imapclient.New(ic, nil)
	defer c.Close()

	reg, err := registry.Named(nil, "SCRAM-SHA-256")
	if err != nil {
		log.Fatal(err)
	}
	s, err := reg.NewClient("SCRAM-SHA-256", creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{})
	if err != nil {
		log.Fatal(err)
	}
	if err := ic.Authenticate(context.Background(), s, c.Authenticate); err != nil {
		log.Fatal(err)
	}
	// go-imap updates its state just after Authenticate returns: wait
	// for one more command before looking.
	if err := c.Noop().Wait(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("state:", c.State())
	fmt.Printf("last response: %q\n", f.clientLines()[2])
	// Output:
	// state: authenticated
	// last response: ""
}

// A caller that drives the framework itself with a bare Client must call
// Success when the framework reports success. Here the server says OK
// without sending its signature: go-smtp reports success, and only
// Success catches the impostor.
func ExampleNewClient() {
	addr, stop, err := startSMTP(noSignature) // a server that does not know the password
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	c, err := smtp.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	reg, err := registry.Named(nil, "SCRAM-SHA-256")
	if err != nil {
		log.Fatal(err)
	}
	s, err := reg.NewClient("SCRAM-SHA-256", creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	fmt.Println("go-smtp says:", c.Auth(gosasl.NewClient(ctx, s)))
	err = s.Success(ctx)
	fmt.Println("the server proved itself:", err == nil)
	fmt.Println("wraps mech.ErrAuthFailed:", errors.Is(err, mech.ErrAuthFailed))
	// Output:
	// go-smtp says: <nil>
	// the server proved itself: false
	// wraps mech.ErrAuthFailed: true
}

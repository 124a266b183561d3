// Command gosmtp is an SMTP server (RFC 5321) built on emersion's go-smtp,
// whose AUTH (RFC 4954) is served by saslkit: SCRAM-SHA-256 (RFC 7677),
// PLAIN (RFC 4616) and LOGIN, for one user. It shows how to embed saslkit
// in go-smtp or go-imap v2 through the go-sasl adapter
// (session.Server.GoSASL); see README.md for how the adapter handles their
// quirks.
//
//	go run . [-listen 127.0.0.1:2587] [-user user] [-password pencil]
//
// It has no TLS, so it offers PLAIN and LOGIN in the clear, and for that
// reason listens on loopback addresses only. Messages from authenticated
// clients are accepted and discarded.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"

	"github.com/saslkit/saslkit/mech"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gosmtp:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gosmtp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:2587", "loopback `address` to listen on")
	user := fs.String("user", "user", "the user name")
	password := fs.String("password", "pencil", "the user's password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %s: not a loopback address; this example has no TLS", *listen)
	}
	reg, err := newRegistry(*user, *password)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv, err := newServer(reg, log.New(stderr, "gosmtp: ", log.LstdFlags), nil)
	if err != nil {
		l.Close()
		return err
	}
	fmt.Fprintf(stdout, "gosmtp: listening on %s; user %q, mechanisms %v\n", l.Addr(), *user, reg.Advertise(mech.Channel{}))
	return srv.Serve(l)
}

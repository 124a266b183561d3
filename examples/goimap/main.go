// Command goimap is an IMAP server (RFC 3501) built on emersion's go-imap
// v2 (package imapserver), whose AUTHENTICATE (RFC 3501 section 6.2.2,
// with SASL-IR, RFC 4959) and LOGIN commands are served by saslkit:
// EXTERNAL (RFC 4422 appendix A) from a verified TLS client certificate,
// SCRAM-SHA-256-PLUS and SCRAM-SHA-256 (RFC 7677, channel binding from the
// TLS connection, RFC 5056, RFC 9266), OAUTHBEARER (RFC 7628), PLAIN (RFC
// 4616) and LOGIN. It shows how to embed saslkit in go-imap v2 through the
// go-sasl adapter (session.Server.GoSASL), with the accounts, registry and
// TLS configuration of the example servers (examples/internal/authserver).
//
//	go run . [-listen 127.0.0.1:2143] [-listen-tls 127.0.0.1:2993]
//	         [-cert server.pem -key server.key] [-client-ca ca.pem]
//	         [-users users.txt] [-tokens tokens.txt] [-mechs LIST]
//
// Without -users it serves the user "user" with the password "pencil" and
// the bearer token "tok123". Without -cert it makes a self-signed
// certificate for localhost. EXTERNAL needs -client-ca.
//
// PLAIN, LOGIN, OAUTHBEARER and the LOGIN command are offered over TLS only
// (STARTTLS or implicit TLS); SCRAM also without TLS, and -PLUS over TLS
// only; EXTERNAL only to a client that presented a certificate the CA
// verifies. It stores no mail: an authenticated client sees an empty INBOX.
//
// # Replies
//
// A failed AUTHENTICATE or LOGIN gets the reply of package outcome, never
// the library's reason, which goes to the log:
//
//	NO [AUTHENTICATIONFAILED]  wrong password, unknown user, refused token
//	NO [AUTHORIZATIONFAILED]   the client may not act as the authzid it asked for
//	NO [PRIVACYREQUIRED]       PLAIN, LOGIN, OAUTHBEARER or the LOGIN command without TLS
//	NO [CANNOT]                unknown mechanism, or one that cannot run here
//	                           (-PLUS without TLS, EXTERNAL without a certificate)
//	NO [UNAVAILABLE]           a store failure or a misconfigured server
//	BAD                        a malformed response, "*" (cancelled, go-imap's
//	                           reply), invalid base64 (go-imap's reply)
//
// After five failures on one connection the server says BYE.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/saslkit/saslkit/examples/internal/authserver"
)

// DefaultMechs is what the server offers without -mechs, in preference
// order.
const DefaultMechs = "EXTERNAL,SCRAM-SHA-256-PLUS,SCRAM-SHA-256,OAUTHBEARER,PLAIN,LOGIN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "goimap:", err)
		}
		os.Exit(2)
	}
}

// run parses args, starts the server and serves until ctx is done. It
// prints the addresses and mechanisms to stdout and logs to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("goimap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := authserver.DefaultConfig("127.0.0.1:2143")
	cfg.Mechs = DefaultMechs
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "`address` for plain connections, with STARTTLS (empty: none)")
	fs.StringVar(&cfg.ListenTLS, "listen-tls", "", "`address` for implicit TLS (empty: none)")
	fs.StringVar(&cfg.CertFile, "cert", "", "server certificate chain in PEM `file` (default: self-signed for localhost)")
	fs.StringVar(&cfg.KeyFile, "key", "", "server private key in PEM `file`")
	fs.StringVar(&cfg.ClientCAFile, "client-ca", "", "CA certificates in PEM `file` to verify client certificates against, for EXTERNAL")
	fs.StringVar(&cfg.UsersFile, "users", "", "Dovecot passwd-`file` of name:{SCHEME}data lines (default: user/pencil)")
	fs.StringVar(&cfg.TokensFile, "tokens", "", "`file` of name:token lines for OAUTHBEARER")
	fs.StringVar(&cfg.Mechs, "mechs", cfg.Mechs, "comma-separated mechanism `list`, in preference order")
	fs.StringVar(&cfg.SecretFile, "secret-file", "", "`file` holding the server secret for stable mock SCRAM salts (default: a new secret at each start)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Listen == "" && cfg.ListenTLS == "" {
		return errors.New("nothing to listen on: set -listen or -listen-tls")
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	b, err := authserver.New(cfg, logger)
	if err != nil {
		return err
	}
	s := NewServer(b, logger, nil)
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, a := range []struct {
		addr     string
		implicit bool
	}{{cfg.Listen, false}, {cfg.ListenTLS, true}} {
		if a.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			closeAll()
			return err
		}
		kind := "STARTTLS"
		if a.implicit {
			ln = tls.NewListener(ln, b.TLSConfig())
			kind = "implicit TLS"
		}
		lns = append(lns, ln)
		fmt.Fprintf(stdout, "goimap: listening on %s (%s)\n", ln.Addr(), kind)
	}
	fmt.Fprintf(stdout, "goimap: mechanisms (preference order): %s\n", strings.Join(b.Registry().Names(), " "))
	if b.DefaultAccounts() {
		fmt.Fprintln(stdout, "goimap: account: user user, password pencil, token tok123 (embedded default)")
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- s.Serve(ln) }()
	}
	select {
	case <-ctx.Done():
		err = nil
	case err = <-errc:
	}
	s.Close()
	closeAll()
	return err
}

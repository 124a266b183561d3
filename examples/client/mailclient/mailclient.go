// Package mailclient is the examples/client command as a package, so that
// tests elsewhere (examples/dovecot) can run it in-process with [Run]. See
// the command's documentation for what it does; it has no other API.
package mailclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// Exit statuses of [Run].
const (
	// ExitOK means authentication succeeded.
	ExitOK = 0
	// ExitAuth means authentication failed: the server refused it, or a
	// SCRAM server did not prove itself.
	ExitAuth = 1
	// ExitUsage means a usage error, or a connection or protocol error.
	ExitUsage = 2
)

const programName = "client"

// options are the command-line flags.
type options struct {
	imap, smtp        string
	mech              string
	user, password    string
	authzid, token    string
	trace             string
	starttls, tls     bool
	cafile            string
	cert, key         string
	insecure          bool
	skipVerify        bool
	verbose           bool
	noIR              bool
	timeout           time.Duration
	addr, proto, host string // derived
}

func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet(programName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.imap, "imap", "", "IMAP server `address` (host:port)")
	fs.StringVar(&o.smtp, "smtp", "", "SMTP submission server `address` (host:port)")
	fs.StringVar(&o.mech, "mech", "", "mechanism `name`, any case (default: the best one the server offers)")
	fs.StringVar(&o.user, "user", "", "authentication identity (user name)")
	fs.StringVar(&o.password, "password", "", "password, for PLAIN, LOGIN, CRAM-MD5 and SCRAM")
	fs.StringVar(&o.authzid, "authzid", "", "authorization identity to act as (default none)")
	fs.StringVar(&o.token, "token", "", "bearer token, for OAUTHBEARER and XOAUTH2")
	fs.StringVar(&o.trace, "trace", "", "trace token, for ANONYMOUS")
	fs.BoolVar(&o.starttls, "starttls", false, "upgrade the connection with STARTTLS before authenticating")
	fs.BoolVar(&o.tls, "tls", false, "connect with TLS (implicit TLS, IMAPS or submissions)")
	fs.StringVar(&o.cafile, "cafile", "", "PEM `file` of CA certificates to verify the server with (default: the system's)")
	fs.StringVar(&o.cert, "cert", "", "PEM `file` holding a client certificate, for EXTERNAL")
	fs.StringVar(&o.key, "key", "", "PEM `file` holding the client certificate's key")
	fs.BoolVar(&o.insecure, "insecure", false, "allow PLAIN, LOGIN, OAUTHBEARER and XOAUTH2, which send the password or the bearer token in the clear, without TLS")
	fs.BoolVar(&o.skipVerify, "insecure-skip-verify", false, "do not verify the server's certificate")
	fs.BoolVar(&o.noIR, "no-ir", false, "never send an initial response with the command; answer the server's first challenge instead")
	fs.BoolVar(&o.verbose, "v", false, "print every protocol line sent (>) and received (<), with passwords and tokens redacted")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit for the whole session")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	usage := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "%s: "+format+"\n", append([]any{programName}, a...)...)
		return errors.New("usage")
	}
	switch {
	case fs.NArg() > 0:
		return nil, usage("unexpected argument %q", fs.Arg(0))
	case (o.imap == "") == (o.smtp == ""):
		return nil, usage("give exactly one of -imap and -smtp")
	case o.starttls && o.tls:
		return nil, usage("give at most one of -starttls and -tls")
	case (o.cert == "") != (o.key == ""):
		return nil, usage("give -cert and -key together")
	case o.timeout <= 0:
		return nil, usage("-timeout must be positive")
	}
	o.addr, o.proto = o.imap, "imap"
	if o.smtp != "" {
		o.addr, o.proto = o.smtp, "smtp"
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return nil, usage("bad address %q: %v", o.addr, err)
	}
	o.host = host
	return &o, nil
}

// Run runs the command with args (without the program name), printing to
// stdout and stderr, and returns the exit status: [ExitOK], [ExitAuth] or
// [ExitUsage].
func Run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: "+format+"\n", append([]any{programName}, a...)...)
		return ExitUsage
	}
	tlsConfig, clientCN, err := o.tlsConfig()
	if err != nil {
		return fail("%v", err)
	}
	reg, err := o.registry()
	if err != nil {
		return fail("%v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	c, err := dial(ctx, o, tlsConfig, stdout)
	if err != nil {
		return fail("%v", err)
	}
	defer c.close()

	var p protocol
	if o.proto == "imap" {
		p = &imapClient{w: c}
	} else {
		p = &smtpClient{w: c}
	}
	caps, err := p.hello()
	if err != nil {
		return fail("%v", err)
	}
	// From here on, end the session politely, whatever happens, unless
	// the connection is broken.
	polite := true
	defer func() {
		if polite {
			c.conn.SetDeadline(time.Now().Add(quitTimeout))
			p.quit()
		}
	}()
	if o.starttls {
		if !caps.starttls {
			return fail("the server does not offer STARTTLS")
		}
		if err := p.startTLS(tlsConfig); err != nil {
			polite = false
			return fail("STARTTLS: %v", err)
		}
		if caps, err = p.capabilities(); err != nil {
			return fail("%v", err)
		}
	}
	fmt.Fprintf(stdout, "server offers: %s\n", strings.Join(caps.mechs, " "))
	if o.noIR {
		caps.saslIR = false
	}

	ch := c.channel(clientCN)
	ch.Host, ch.Port, _ = net.SplitHostPort(o.addr)
	cc := creds.Client{Authcid: o.user, Password: o.password, Token: o.token, Authzid: o.authzid, Trace: o.trace}
	name := o.mech
	if name == "" {
		if name, err = reg.Select(caps.mechs, cc, ch); err != nil {
			return fail("no mechanism the server offers fits the credentials given: %v", err)
		}
	} else if !caps.offers(name) {
		fmt.Fprintf(stdout, "note: the server does not advertise %s; trying it anyway\n", strings.ToUpper(name))
	}
	cli, err := reg.NewClient(name, cc, ch)
	switch {
	case errors.Is(err, registry.ErrEncryptionRequired):
		// Nothing is sent: a password or a bearer token is as good as
		// stolen once it crossed a connection in the clear.
		secret := "password"
		if m, ok := reg.Lookup(name); ok && m.Properties().Uses == mech.UsesToken {
			secret = "bearer token"
		}
		return fail("%s sends the %s in the clear: use -starttls or -tls, or -insecure", strings.ToUpper(name), secret)
	case errors.Is(err, registry.ErrNotOffered):
		return fail("%s cannot run on this connection (it needs TLS channel binding or a client certificate)", strings.ToUpper(name))
	case err != nil:
		return fail("mechanism %q: %v", name, err)
	}
	fmt.Fprintf(stdout, "mechanism: %s\n", cli.Mechanism())

	// The responses of a mechanism that sends a reusable secret in the
	// clear (a password, a bearer token) are never printed, in the trace
	// or in the exchange: only their size.
	m, _ := reg.Lookup(name)
	redact := m.Properties().ClearSecret
	c.redact = redact
	code, broken := authenticate(ctx, stdout, p, caps, cli, redact)
	polite = !broken
	return code
}

// quitTimeout bounds the wait for the server's answer to LOGOUT or QUIT.
const quitTimeout = 2 * time.Second

// tlsConfig returns the TLS configuration from the flags, and the common
// name of the client certificate, if there is one.
func (o *options) tlsConfig() (*tls.Config, string, error) {
	cfg := &tls.Config{ServerName: o.host, InsecureSkipVerify: o.skipVerify}
	if o.cafile != "" {
		pem, err := os.ReadFile(o.cafile)
		if err != nil {
			return nil, "", err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("%s: no certificates found", o.cafile)
		}
	}
	var cn string
	if o.cert != "" {
		cert, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, "", err
		}
		cfg.Certificates = []tls.Certificate{cert}
		if cert.Leaf != nil {
			cn = cert.Leaf.Subject.CommonName
		}
		if cn == "" {
			// EXTERNAL needs an identity on the channel; the server
			// takes its own from the certificate, whatever it says.
			cn = "client-certificate"
		}
	}
	return cfg, cn, nil
}

// registry returns a registry of every built-in client mechanism, in the
// library's preference order. OAUTHBEARER takes the host and port from the
// channel, ANONYMOUS the trace from the credentials.
func (o *options) registry() (*registry.Registry, error) {
	return registry.Named(&registry.Config{InsecureClearSecret: o.insecure}, registry.BuiltinNames()...)
}

// capabilities is what the server advertised.
type capabilities struct {
	mechs    []string // SASL mechanisms, as advertised
	saslIR   bool     // IMAP SASL-IR (RFC 4959); always true for SMTP
	starttls bool
}

func (c *capabilities) offers(name string) bool {
	for _, m := range c.mechs {
		if strings.EqualFold(m, name) {
			return true
		}
	}
	return false
}

// protocol is the part of IMAP or SMTP the client speaks.
type protocol interface {
	// hello reads the greeting and the capabilities.
	hello() (*capabilities, error)
	// capabilities asks for the capabilities again.
	capabilities() (*capabilities, error)
	// startTLS runs STARTTLS and the TLS handshake.
	startTLS(cfg *tls.Config) error
	// begin sends the authentication command, with the initial response
	// if ir is not nil.
	begin(mech string, ir []byte) error
	// reply reads the server's next reply to the exchange.
	reply() (reply, error)
	// respond sends a response to a challenge.
	respond(resp []byte) error
	// cancel sends "*" and reads the server's answer.
	cancel() (reply, error)
	// quit ends the session politely; errors are ignored.
	quit()
}

// reply is the server's answer during an exchange: a challenge, success or
// failure.
type reply struct {
	kind      replyKind
	challenge string // base64, for a challenge
	text      string // the server's line, for success and failure
}

type replyKind uint8

const (
	replyChallenge replyKind = iota
	replySuccess
	replyFailure
)

// authenticate runs the exchange and returns the exit status, and whether
// the connection broke. With redact set, the client's responses are
// printed by their size only.
func authenticate(ctx context.Context, w io.Writer, p protocol, caps *capabilities, cli *session.Client, redact bool) (code int, broken bool) {
	sent := func(msg []byte) {
		if redact {
			fmt.Fprintf(w, "C: %s\n", redacted(msg))
			return
		}
		printMsg(w, "C", msg)
	}
	var ir []byte
	if caps.saslIR {
		resp, ok, err := cli.Start(ctx)
		if err != nil {
			// Nothing is sent yet: the credentials cannot be sent.
			fmt.Fprintf(w, "C: cannot start: %v\n", err)
			if errors.Is(err, mech.ErrInvalidCredentials) {
				return ExitUsage, false
			}
			return ExitAuth, false
		}
		if ok {
			sent(resp)
			ir = resp
		}
	}
	if err := p.begin(cli.Mechanism(), ir); err != nil {
		return connFailed(w, err), true
	}
	for {
		r, err := p.reply()
		if err != nil {
			return connFailed(w, err), true
		}
		switch r.kind {
		case replySuccess:
			fmt.Fprintf(w, "S: success: %s\n", r.text)
			// IMAP and SMTP carry no data with success: a SCRAM server
			// must have sent its "v=" as a challenge, which Next checked.
			if err := cli.Success(ctx); err != nil {
				fmt.Fprintf(w, "outcome: client rejected the server: %v\n", err)
				return ExitAuth, false
			}
			fmt.Fprintln(w, "outcome: success")
			return ExitOK, false
		case replyFailure:
			fmt.Fprintf(w, "S: failure: %s\n", r.text)
			reportFailure(w, cli.Failure())
			fmt.Fprintln(w, "outcome: authentication failed")
			return ExitAuth, false
		}
		chal, err := session.Decode([]byte(r.challenge), 0)
		if err != nil {
			fmt.Fprintf(w, "S: %q (not base64)\n", r.challenge)
			return cancelExchange(w, p, err)
		}
		printMsg(w, "S", chal)
		resp, err := cli.Next(ctx, chal)
		if err != nil {
			return cancelExchange(w, p, err)
		}
		sent(resp)
		if err := p.respond(resp); err != nil {
			return connFailed(w, err), true
		}
	}
}

// cancelExchange cancels the exchange after the client failed on a
// challenge, and reports the outcome.
func cancelExchange(w io.Writer, p protocol, err error) (code int, broken bool) {
	fmt.Fprintf(w, "C: cancel: %v\n", err)
	r, cerr := p.cancel()
	if cerr != nil {
		return connFailed(w, cerr), true
	}
	fmt.Fprintf(w, "S: %s\n", r.text)
	fmt.Fprintln(w, "outcome: authentication failed")
	return ExitAuth, false
}

func connFailed(w io.Writer, err error) int {
	fmt.Fprintf(w, "connection: %v\n", err)
	fmt.Fprintln(w, "outcome: connection failed")
	return ExitUsage
}

// reportFailure prints the failure the server reported within the
// exchange, if any: the fields of a bearer-token JSON error, or a SCRAM
// server error.
func reportFailure(w io.Writer, f error) {
	if f == nil {
		return
	}
	fmt.Fprintf(w, "server reported: %v\n", f)
	var te *mech.TokenError
	if errors.As(f, &te) {
		fmt.Fprintf(w, "  status: %q\n", te.Status)
		if te.Schemes != "" {
			fmt.Fprintf(w, "  schemes: %q\n", te.Schemes)
		}
		if te.Scope != "" {
			fmt.Fprintf(w, "  scope: %q\n", te.Scope)
		}
		if te.OpenIDConfiguration != "" {
			fmt.Fprintf(w, "  openid-configuration: %q\n", te.OpenIDConfiguration)
		}
	}
	var se *scram.ServerError
	if errors.As(f, &se) {
		fmt.Fprintf(w, "  e=%s\n", se.Value)
	}
}

// redacted stands for a message that holds a secret: its size only.
func redacted(msg []byte) string {
	return fmt.Sprintf("<redacted: %d octets>", len(msg))
}

// printMsg prints one message: direction, raw bytes quoted, base64.
func printMsg(w io.Writer, dir string, msg []byte) {
	if len(msg) == 0 {
		fmt.Fprintf(w, "%s: \"\" (empty)\n", dir)
		return
	}
	fmt.Fprintf(w, "%s: %s %s\n", dir, strconv.Quote(string(msg)), session.Encode(msg))
}

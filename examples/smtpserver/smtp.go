package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/saslkit/saslkit/examples/internal/authserver"
)

// Limits on a mail transaction.
const (
	// MaxMessage is the largest message DATA accepts, in octets, as
	// advertised with SIZE (RFC 1870).
	MaxMessage = 1 << 20
	// MaxRecipients is the most RCPT commands in one transaction.
	MaxRecipients = 100
)

// hostname is what the server calls itself in its greeting and EHLO reply.
const hostname = "localhost"

// NewServer returns an SMTP server that authenticates with b. Serve it on
// a listener with Serve (plain, with STARTTLS) or ServeTLS (implicit TLS).
func NewServer(b *authserver.Backend) *authserver.Server {
	return authserver.NewServer(b, "smtp", func(c *authserver.Conn) {
		(&conn{c: c}).serve()
	}, "421 4.7.0 Too many connections, try again later")
}

// conn is the SMTP state of one connection.
type conn struct {
	c       *authserver.Conn
	greeted bool   // EHLO or HELO received since the start or STARTTLS
	user    string // the authenticated identity; empty before
	from    bool   // MAIL received: a transaction is open
	rcpts   int
}

func (x *conn) reply(line string) bool { return x.c.WriteLine(line) == nil }

func (x *conn) serve() {
	if !x.reply("220 " + hostname + " ESMTP saslkit example submission server ready") {
		return
	}
	for {
		line, err := x.c.ReadLine()
		if err != nil {
			x.readFailed(err)
			return
		}
		if !x.command(line) {
			return
		}
	}
}

// readFailed says goodbye to a client that was silent too long or sent too
// long a line; other errors mean the client is gone.
func (x *conn) readFailed(err error) {
	switch {
	case authserver.IsTimeout(err):
		x.reply("421 4.4.2 " + hostname + " Idle for too long, closing connection")
	case errors.Is(err, authserver.ErrLineTooLong):
		x.reply("500 5.5.6 Line too long, closing connection")
	}
}

// command runs one command line and reports whether to read another.
func (x *conn) command(line string) bool {
	verb, args, _ := strings.Cut(line, " ")
	switch strings.ToUpper(verb) {
	case "EHLO", "HELO":
		return x.hello(strings.ToUpper(verb), args)
	case "STARTTLS":
		return x.startTLS(args)
	case "AUTH":
		return x.auth(args)
	case "MAIL":
		return x.mail(args)
	case "RCPT":
		return x.rcpt(args)
	case "DATA":
		return x.data(args)
	case "RSET":
		x.reset()
		return x.reply("250 2.0.0 OK")
	case "NOOP":
		return x.reply("250 2.0.0 OK")
	case "VRFY":
		return x.reply("252 2.5.0 Cannot verify the user")
	case "HELP":
		return x.reply("214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT")
	case "QUIT":
		x.reply("221 2.0.0 Bye")
		return false
	}
	return x.reply("500 5.5.2 Command not recognized")
}

// reset ends any mail transaction.
func (x *conn) reset() {
	x.from = false
	x.rcpts = 0
}

// hello answers EHLO and HELO. The EHLO reply lists AUTH with the
// mechanisms this connection can use (none once authenticated), and
// STARTTLS before TLS.
func (x *conn) hello(verb, args string) bool {
	if strings.TrimSpace(args) == "" {
		return x.reply("501 5.5.4 Syntax: " + verb + " hostname")
	}
	x.reset()
	x.greeted = true
	if verb == "HELO" {
		return x.reply("250 " + hostname)
	}
	ext := []string{hostname, "8BITMIME", "ENHANCEDSTATUSCODES", "PIPELINING", "SIZE " + strconv.Itoa(MaxMessage)}
	if !x.c.TLS() {
		ext = append(ext, "STARTTLS")
	}
	if x.user == "" {
		if mechs := x.c.Backend().Advertise(x.c.Channel()); len(mechs) > 0 {
			ext = append(ext, "AUTH "+strings.Join(mechs, " "))
		}
	}
	for i, e := range ext {
		sep := "-"
		if i == len(ext)-1 {
			sep = " "
		}
		if !x.reply("250" + sep + e) {
			return false
		}
	}
	return true
}

// startTLS answers STARTTLS (RFC 3207). After the handshake the client
// starts over with EHLO, and what it said before counts for nothing.
func (x *conn) startTLS(args string) bool {
	switch {
	case args != "":
		return x.reply("501 5.5.4 Syntax: STARTTLS")
	case x.c.TLS():
		return x.reply("503 5.5.1 TLS is already active")
	case x.c.Pipelined():
		// Anything sent after STARTTLS and before the handshake would be
		// taken as if it came over TLS.
		return x.reply("503 5.5.1 Nothing may follow STARTTLS before the handshake")
	}
	if !x.reply("220 2.0.0 Ready to start TLS") || x.c.StartTLS() != nil {
		return false
	}
	x.greeted = false
	x.user = ""
	x.reset()
	return true
}

// auth runs AUTH mechanism [initial-response] (RFC 4954).
func (x *conn) auth(args string) bool {
	switch {
	case !x.greeted:
		return x.reply("503 5.5.1 Send EHLO first")
	case x.user != "":
		return x.reply("503 5.5.1 Already authenticated")
	case x.from:
		return x.reply("503 5.5.1 AUTH is not permitted during a mail transaction")
	}
	// Fields, not a strict split: smtplib's "AUTH EXTERNAL " with a
	// trailing space is no initial response.
	f := strings.Fields(args)
	if len(f) < 1 || len(f) > 2 {
		return x.reply("501 5.5.4 Syntax: AUTH mechanism [initial-response]")
	}
	ir := ""
	if len(f) == 2 {
		ir = f[1]
	}
	cr, o, err := x.c.Exchange(f[0], ir, "334 ")
	if err != nil {
		x.readFailed(err)
		return false
	}
	var r string
	switch o {
	case authserver.OK:
		x.user = cr.Effective()
		if cr.Anonymous() {
			x.user = "anonymous"
		}
		return x.reply("235 2.7.0 Authentication successful")
	case authserver.AuthFailed:
		r = "535 5.7.8 Authentication credentials invalid"
	case authserver.Unauthorized:
		r = "535 5.7.8 Not authorized to act as the requested identity"
	case authserver.EncryptionRequired:
		r = "538 5.7.11 Encryption required for requested authentication mechanism"
	case authserver.UnknownMechanism:
		r = "504 5.5.4 Unrecognized authentication type"
	case authserver.Cancelled:
		r = "501 5.7.0 Authentication cancelled"
	case authserver.Syntax:
		r = "501 5.5.2 Cannot decode response"
	case authserver.TooLarge:
		r = "500 5.5.6 Authentication exchange line is too long"
	default:
		r = "454 4.7.0 Temporary authentication failure"
	}
	if !x.reply(r) {
		return false
	}
	if x.c.TooManyFailures() {
		x.reply("421 4.7.0 Too many authentication failures, closing connection")
		return false
	}
	return true
}

func (x *conn) mail(args string) bool {
	switch {
	case x.user == "":
		return x.reply("530 5.7.0 Authentication required")
	case x.from:
		return x.reply("503 5.5.1 Sender already given")
	case !hasPrefixFold(args, "FROM:"):
		return x.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
	}
	x.from = true
	return x.reply("250 2.1.0 Sender OK")
}

func (x *conn) rcpt(args string) bool {
	switch {
	case !x.from:
		return x.reply("503 5.5.1 Need MAIL first")
	case !hasPrefixFold(args, "TO:"):
		return x.reply("501 5.5.4 Syntax: RCPT TO:<address>")
	case x.rcpts >= MaxRecipients:
		return x.reply("452 4.5.3 Too many recipients")
	}
	x.rcpts++
	return x.reply("250 2.1.5 Recipient OK")
}

// data reads a message up to the line ".", undoing dot-stuffing (RFC 5321
// section 4.5.2), and discards it. A message over MaxMessage is read to
// its end and refused.
func (x *conn) data(args string) bool {
	switch {
	case args != "":
		return x.reply("501 5.5.4 Syntax: DATA")
	case x.rcpts == 0:
		return x.reply("503 5.5.1 Need RCPT first")
	}
	if !x.reply("354 End data with <CR><LF>.<CR><LF>") {
		return false
	}
	size := 0
	for {
		line, err := x.c.ReadLine()
		if err != nil {
			x.readFailed(err)
			return false
		}
		if line == "." {
			break
		}
		line = strings.TrimPrefix(line, ".")
		size += len(line) + 2
	}
	x.reset()
	if size > MaxMessage {
		return x.reply("552 5.3.4 Message too big")
	}
	return x.reply("250 2.0.0 Message accepted and discarded")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Package imapd is the IMAP protocol (RFC 3501) of examples/imapserver:
// AUTHENTICATE with SASL and SASL-IR (RFC 4959), LOGIN, STARTTLS and an
// empty INBOX, over authserver's connections. It is a package so that
// examples/multinode can run the same server with other stores and
// limiters; examples/imapserver documents its replies.
package imapd

import (
	"errors"
	"strings"

	"github.com/saslkit/saslkit/examples/internal/authserver"
)

// NewServer returns an IMAP server that authenticates with b. Serve it on
// a listener with Serve (plain, with STARTTLS) or ServeTLS (implicit TLS).
func NewServer(b *authserver.Backend) *authserver.Server {
	return authserver.NewServer(b, "imap", func(c *authserver.Conn) {
		(&conn{c: c}).serve()
	}, "* BYE Too many connections, try again later")
}

// conn is the IMAP state of one connection.
type conn struct {
	c        *authserver.Conn
	user     string // the authenticated identity; empty before
	selected bool
}

func (x *conn) authenticated() bool { return x.user != "" }

// capabilities returns the CAPABILITY list for the connection's state.
func (x *conn) capabilities() string {
	caps := []string{"IMAP4rev1"}
	if x.authenticated() {
		return caps[0]
	}
	if x.c.Backend().SASLIR() {
		caps = append(caps, "SASL-IR")
	}
	if !x.c.TLS() {
		caps = append(caps, "STARTTLS")
	}
	ch := x.c.Channel()
	if !x.c.Backend().ClearAllowed(ch) {
		caps = append(caps, "LOGINDISABLED")
	}
	for _, m := range x.c.Backend().Advertise(ch) {
		caps = append(caps, "AUTH="+m)
	}
	return strings.Join(caps, " ")
}

func (x *conn) serve() {
	if x.c.WriteLine("* OK [CAPABILITY "+x.capabilities()+"] saslkit example IMAP server ready") != nil {
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
		x.c.WriteLine("* BYE Autologout; idle for too long")
	case errors.Is(err, authserver.ErrLineTooLong):
		x.c.WriteLine("* BYE Line too long")
	}
}

// command runs one command line and reports whether to read another.
func (x *conn) command(line string) bool {
	tag, rest, _ := strings.Cut(line, " ")
	if !validTag(tag) {
		return x.c.WriteLine("* BAD Missing or invalid tag") == nil
	}
	name, args, _ := strings.Cut(rest, " ")
	reply := func(s string) bool { return x.c.WriteLine(tag+" "+s) == nil }
	switch strings.ToUpper(name) {
	case "CAPABILITY":
		return x.c.WriteLine("* CAPABILITY "+x.capabilities()) == nil && reply("OK CAPABILITY completed")
	case "NOOP":
		return reply("OK NOOP completed")
	case "LOGOUT":
		x.c.WriteLine("* BYE Logging out")
		reply("OK LOGOUT completed")
		return false
	case "STARTTLS":
		return x.startTLS(tag)
	case "AUTHENTICATE":
		return x.authenticate(tag, args)
	case "LOGIN":
		return x.login(tag, args)
	case "LIST", "LSUB", "SELECT", "EXAMINE", "CLOSE", "UNSELECT", "CHECK":
		if !x.authenticated() {
			return reply("BAD Log in first")
		}
		return x.mailbox(tag, strings.ToUpper(name), args)
	case "":
		return reply("BAD Missing command")
	}
	return reply("BAD Unknown command")
}

func (x *conn) startTLS(tag string) bool {
	switch {
	case x.authenticated():
		return x.c.WriteLine(tag+" BAD Already authenticated") == nil
	case x.c.TLS():
		return x.c.WriteLine(tag+" BAD TLS is already active") == nil
	case x.c.Pipelined():
		// Anything sent after STARTTLS and before the handshake would be
		// taken as if it came over TLS.
		return x.c.WriteLine(tag+" BAD Nothing may follow STARTTLS before the handshake") == nil
	}
	if x.c.WriteLine(tag+" OK Begin TLS negotiation now") != nil {
		return false
	}
	return x.c.StartTLS() == nil
}

// authenticate runs AUTHENTICATE mechanism [initial-response] (RFC 3501
// section 6.2.2, RFC 4959).
func (x *conn) authenticate(tag, args string) bool {
	if x.authenticated() {
		return x.c.WriteLine(tag+" BAD Already authenticated") == nil
	}
	// Fields, not a strict split: a trailing space is no initial response.
	f := strings.Fields(args)
	if len(f) < 1 || len(f) > 2 {
		return x.c.WriteLine(tag+" BAD Syntax: AUTHENTICATE mechanism [initial-response]") == nil
	}
	ir := ""
	if len(f) == 2 {
		ir = f[1]
	}
	cr, o, err := x.c.Exchange(f[0], ir, "+ ")
	if err != nil {
		x.readFailed(err)
		return false
	}
	user := ""
	if o == authserver.OK {
		user = cr.Effective()
		if cr.Anonymous() {
			user = "anonymous"
		}
	}
	return x.finish(tag, "AUTHENTICATE", o, user)
}

// login runs LOGIN user password (RFC 3501 section 6.2.3).
func (x *conn) login(tag, args string) bool {
	if x.authenticated() {
		return x.c.WriteLine(tag+" BAD Already authenticated") == nil
	}
	a, ok := parseArgs(args)
	if !ok || len(a) != 2 {
		return x.c.WriteLine(tag+" BAD Syntax: LOGIN user password") == nil
	}
	cr, o := x.c.Login(a[0], a[1])
	user := ""
	if o == authserver.OK {
		user = cr.Effective()
	}
	return x.finish(tag, "LOGIN", o, user)
}

// finish sends the reply for an authentication outcome, and reports
// whether to go on.
func (x *conn) finish(tag, cmd string, o authserver.Outcome, user string) bool {
	var r string
	switch o {
	case authserver.OK:
		x.user = user
		return x.c.WriteLine(tag+" OK "+cmd+" completed, now authenticated") == nil
	case authserver.AuthFailed:
		r = "NO [AUTHENTICATIONFAILED] Authentication failed"
	case authserver.Unauthorized:
		r = "NO [AUTHORIZATIONFAILED] Not authorized to act as the requested identity"
	case authserver.EncryptionRequired:
		r = "NO [PRIVACYREQUIRED] This requires TLS: use STARTTLS first"
	case authserver.UnknownMechanism:
		r = "NO [CANNOT] Mechanism not supported on this connection"
	case authserver.Cancelled:
		r = "BAD Authentication cancelled"
	case authserver.Syntax:
		r = "BAD Invalid response"
	case authserver.TooLarge:
		r = "BAD Response too long"
	default:
		r = "NO [UNAVAILABLE] Temporary authentication failure, try again later"
	}
	if x.c.WriteLine(tag+" "+r) != nil {
		return false
	}
	if x.c.TooManyFailures() {
		x.c.WriteLine("* BYE Too many authentication failures")
		return false
	}
	return true
}

// mailbox answers the mailbox commands for an empty INBOX, the only
// mailbox.
func (x *conn) mailbox(tag, cmd, args string) bool {
	w := func(lines ...string) bool {
		for _, l := range lines {
			if x.c.WriteLine(l) != nil {
				return false
			}
		}
		return true
	}
	a, ok := parseArgs(args)
	switch cmd {
	case "LIST", "LSUB":
		if !ok || len(a) != 2 {
			return w(tag + " BAD Syntax: " + cmd + " reference mailbox")
		}
		switch {
		case a[1] == "" && cmd == "LIST":
			// The hierarchy delimiter and root (RFC 3501 section 6.3.8).
			if !w(`* LIST (\Noselect) "/" ""`) {
				return false
			}
		case match(a[0]+a[1], "INBOX"):
			if !w(`* ` + cmd + ` (\HasNoChildren) "/" INBOX`) {
				return false
			}
		}
		return w(tag + " OK " + cmd + " completed")
	case "SELECT", "EXAMINE":
		if !ok || len(a) != 1 {
			return w(tag + " BAD Syntax: " + cmd + " mailbox")
		}
		x.selected = false
		if !strings.EqualFold(a[0], "INBOX") {
			return w(tag + " NO [NONEXISTENT] No such mailbox")
		}
		x.selected = true
		mode := "[READ-WRITE]"
		if cmd == "EXAMINE" {
			mode = "[READ-ONLY]"
		}
		return w(`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`,
			`* OK [PERMANENTFLAGS ()] No permanent flags`,
			`* 0 EXISTS`, `* 0 RECENT`,
			`* OK [UIDVALIDITY 1] UIDs valid`, `* OK [UIDNEXT 1] Predicted next UID`,
			tag+" OK "+mode+" "+cmd+" completed")
	}
	// CLOSE, UNSELECT, CHECK
	if !x.selected {
		return w(tag + " BAD No mailbox selected")
	}
	if cmd != "CHECK" {
		x.selected = false
	}
	return w(tag + " OK " + cmd + " completed")
}

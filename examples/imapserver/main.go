// Command imapserver is an example IMAP server (RFC 3501) that
// authenticates clients with saslkit: AUTHENTICATE with SASL (RFC 4422)
// and the SASL-IR initial response (RFC 4959), and the LOGIN command,
// verified against the same accounts. It stores no mail: once a client is
// authenticated it answers LIST, SELECT and EXAMINE with an empty INBOX, so
// that clients which run a command after logging in exit cleanly.
//
//	go run ./examples/imapserver
//	go run ./examples/imapserver -users users.txt -tokens tokens.txt -mechs SCRAM-SHA-256,PLAIN
//	go run ./examples/imapserver -insecure-auth -mechs PLAIN,LOGIN,CRAM-MD5,ANONYMOUS
//
// It listens on 127.0.0.1:1143 by default, with STARTTLS and a self-signed
// certificate, and serves the user "user" with the password "pencil" and
// the bearer token "tok123". Run it with -h for the flags, which it shares
// with examples/smtpserver.
//
// # Replies
//
// A failed AUTHENTICATE or LOGIN is answered with a response code (RFC
// 5530) and never with the reason the library gave, which goes to the log:
//
//	NO [AUTHENTICATIONFAILED]  wrong password, unknown user, refused token,
//	                           malformed response
//	NO [AUTHORIZATIONFAILED]   the client may not act as the authzid it asked for
//	NO [PRIVACYREQUIRED]       PLAIN, LOGIN, OAUTHBEARER, XOAUTH2 or the LOGIN
//	                           command without TLS
//	NO [CANNOT]                unknown mechanism, or one that cannot run on
//	                           this connection (-PLUS without TLS, EXTERNAL
//	                           without a client certificate)
//	NO [UNAVAILABLE]           a store failure or a server misconfiguration;
//	                           try again later
//	BAD                        "*" (cancelled), invalid base64, a response too long
//
// A client may try again on the same connection, up to five failures, after
// which the server says BYE. A line longer than 64 KiB, or a client silent
// for -auth-timeout, also ends the connection with BYE.
package main

import (
	"os"

	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/examples/internal/imapd"
)

// DefaultListen is where the server listens without -listen.
const DefaultListen = "127.0.0.1:1143"

func main() {
	os.Exit(authserver.Main("imap", authserver.DefaultConfig(DefaultListen), imapd.NewServer, os.Args[1:], os.Stdout, os.Stderr))
}

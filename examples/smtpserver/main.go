// Command smtpserver is an example SMTP submission server (RFC 5321, RFC
// 6409) that authenticates clients with saslkit: AUTH (RFC 4954) with
// every SASL (RFC 4422) mechanism the library has, after EHLO, with or
// without TLS (STARTTLS, RFC 3207, or implicit TLS). It delivers nothing:
// MAIL, RCPT and DATA are accepted from an authenticated client and the
// message is discarded.
//
//	go run ./examples/smtpserver
//	go run ./examples/smtpserver -users users.txt -mechs SCRAM-SHA-256,PLAIN
//	go run ./examples/smtpserver -insecure-auth -mechs PLAIN,LOGIN,CRAM-MD5
//
// It listens on 127.0.0.1:1587 by default, with STARTTLS and a self-signed
// certificate, and serves the user "user" with the password "pencil" and
// the bearer token "tok123". Run it with -h for the flags, which it shares
// with examples/imapserver.
//
// # Replies to AUTH
//
// The reason the library gives for a failure goes to the log, never to the
// client:
//
//	235 2.7.0   authenticated
//	535 5.7.8   wrong password, unknown user, refused token, malformed
//	            response; also an authorization identity the client may not
//	            act as (see below)
//	538 5.7.11  PLAIN, LOGIN, OAUTHBEARER or XOAUTH2 without TLS
//	504 5.5.4   unknown mechanism, or one that cannot run on this connection
//	            (-PLUS without TLS, EXTERNAL without a client certificate)
//	454 4.7.0   a store failure or a server misconfiguration; try again later
//	501 5.7.0   "*": the client cancelled
//	501 5.5.2   invalid base64, or an initial response for a mechanism
//	            that takes none
//	500 5.5.6   a response longer than the session's limit
//	503 5.5.1   AUTH before EHLO, after success, or within a transaction
//
// An authorization failure is answered with 535, not 534: RFC 4954 defines
// 534 (5.7.9) as "mechanism too weak", which would send a client looking
// for a stronger mechanism when it should give up; 535 is its general
// "rejected" code and the text says which failure it was. Telling the two
// apart leaks nothing, since an authorization failure comes only after the
// credentials verified.
//
// A client may try AUTH again on the same connection, up to five failures,
// after which the server closes it with 421. A client silent for
// -auth-timeout is also closed with 421.
package main

import (
	"os"

	"github.com/saslkit/saslkit/examples/internal/authserver"
)

// DefaultListen is where the server listens without -listen.
const DefaultListen = "127.0.0.1:1587"

func main() {
	os.Exit(authserver.Main("smtp", authserver.DefaultConfig(DefaultListen), NewServer, os.Args[1:], os.Stdout, os.Stderr))
}

// Command client authenticates to a real IMAP (RFC 9051, RFC 4959) or SMTP
// submission (RFC 4954) server with SASL (RFC 4422), printing every step of
// the exchange: the direction (C: client to server, S: server to client),
// the raw bytes, quoted, and their base64 as the protocol carries them.
//
//	go run ./examples/client -imap 127.0.0.1:143 -starttls -cafile ca.pem -user user -password pencil
//	go run ./examples/client -smtp 127.0.0.1:587 -mech SCRAM-SHA-256 -user user -password pencil -insecure
//	go run ./examples/client -imap 127.0.0.1:993 -tls -cafile ca.pem -cert client.pem -key client.key
//	go run ./examples/client -imap 127.0.0.1:143 -mech OAUTHBEARER -user user -token tok123
//
// The client connects, reads the server's capabilities (IMAP CAPABILITY,
// SMTP EHLO), upgrades the connection with STARTTLS when -starttls is given
// (or starts with TLS for -tls) and reads them again, and then
// authenticates. Without -mech it picks the best mechanism the server
// offers that its credentials can run, in the library's preference order
// (registry.Registry.Select): EXTERNAL with a client certificate, SCRAM
// (with channel binding over TLS when offered), OAUTHBEARER and XOAUTH2
// with -token, CRAM-MD5, PLAIN, LOGIN, and ANONYMOUS when given no
// credentials at all.
//
// PLAIN and LOGIN send the password in the clear, and OAUTHBEARER and
// XOAUTH2 the bearer token; over a connection without TLS they are used
// only with -insecure, and otherwise refused before anything is sent.
// Their messages hold the secret, so neither the exchange printed nor the
// -v trace shows them, only their size ("C: <redacted: 24 octets>").
// -insecure-skip-verify turns off verification of the server's
// certificate.
//
// The initial response goes with the command when the protocol allows it:
// always in SMTP, and in IMAP when the server advertises SASL-IR (-no-ir
// turns this off: the client then answers the server's first, empty,
// challenge instead). An empty initial response is sent as "=", an empty
// response to a challenge as an empty line. A challenge the client cannot answer is cancelled with "*".
// A SCRAM server must prove itself with its "v=" (sent as a last
// challenge), or the client fails the exchange even when the server
// reports success. A refused bearer token (OAUTHBEARER or XOAUTH2) is
// printed with the fields of the server's JSON error.
//
// The exit status is 0 when authentication succeeds, 1 when it fails
// (refused by the server, or the server failed to prove itself), and 2 on a
// usage or connection error. -v prints every protocol line as well.
package main

import (
	"io"
	"os"

	"github.com/saslkit/saslkit/examples/client/mailclient"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command; see [mailclient.Run].
func run(args []string, stdout, stderr io.Writer) int {
	return mailclient.Run(args, stdout, stderr)
}

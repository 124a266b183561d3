// Package interop holds, in its tests, the interoperability suite of the
// example servers: real SASL (RFC 4422) clients that nobody here wrote —
// curl, GNU gsasl, swaks and Python's imaplib and smtplib — authenticating
// to examples/imapserver (IMAP, RFC 9051, with SASL-IR, RFC 4959) and
// examples/smtpserver (SMTP AUTH, RFC 4954) with every mechanism each
// client supports, each with the right secret and with a wrong one.
//
// The tests build the two servers, start one for each case on loopback
// ports with a throwaway PKI, run the client, and check its exit status and
// the server's log. Each case skips, naming the program, when its client is
// not installed (Debian: run .ci/install-interop.sh as root). Run them with
//
//	go test ./examples/interop
//
// and rewrite the result matrix in docs/interop.md with
//
//	go test ./examples/interop -run TestInterop -args -update
//
// The package's own code is the generator of that matrix: [Render] and
// [Splice].
package interop

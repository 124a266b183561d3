// Package interop holds saslkit's tests against real SASL (RFC 4422) peers:
// GNU gsasl, the Cyrus SASL sample programs and Dovecot's doveadm, driving
// the SCRAM mechanisms of RFC 5802 and RFC 7677, with and without channel
// binding (RFC 5056, RFC 5929, RFC 9266).
//
// The package itself holds only test helpers: [Proc] runs a peer program
// with a time limit and speaks its line protocol, [NeedTools] skips a test
// whose peer is not installed, [NewCerts] makes a throwaway CA and server
// certificate, and [IMAPServer] is the smallest IMAP server that gsasl's
// IMAP client will authenticate against over STARTTLS.
//
// Install the peers on Debian or Ubuntu with .ci/install-interop.sh (as
// root), then run
//
//	go test -race ./internal/interop/
//
// Without the peers every test skips, naming the program it needs. Tools
// are looked up in PATH only: a PATH without /usr/sbin, where Debian puts
// sasl-sample-server and saslpasswd2, skips the Cyrus tests.
package interop

// Package dovecot holds, in its tests, saslkit's client against a real
// server: Dovecot 2.3, speaking IMAP (RFC 9051, with SASL-IR, RFC 4959) and
// SMTP submission (RFC 4954), with every SASL (RFC 4422) mechanism both
// support: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802,
// RFC 7677), XOAUTH2, OAUTHBEARER (RFC 7628), ANONYMOUS (RFC 4505) and
// EXTERNAL with a TLS client certificate.
//
// The tests set Dovecot up in a temporary directory, on free loopback
// ports, with a throwaway CA, and run the examples/client command
// in-process against it. They need Dovecot (Debian: dovecot-core,
// dovecot-imapd, dovecot-submissiond; or run .ci/install-interop.sh) and
// must run as root, since Dovecot drops privileges; otherwise they skip,
// saying why. Run them with
//
//	go test -race -v ./examples/dovecot/
//
// -v prints the result matrix.
package dovecot

// Package loadtest holds a load test of the example IMAP server
// (examples/imapserver, RFC 3501 with SASL-IR, RFC 4959): many concurrent
// connections over loopback, each authenticating once with a SASL (RFC
// 4422) mechanism run by the library's client sessions, PLAIN (RFC 4616),
// SCRAM-SHA-256 (RFC 7677) or OAUTHBEARER (RFC 7628), a tenth of them with a
// wrong secret.
//
// The test builds the server, runs it as a separate process so that its
// peak resident memory can be read from /proc, and reports authentication
// latency, throughput and the server's peak RSS. It opens two thousand
// sockets and takes from seconds to tens of seconds depending on the
// machine, so it runs only when SASLKIT_LOAD=1 is set:
//
//	SASLKIT_LOAD=1 go test -v -run TestLoad ./examples/loadtest
//	SASLKIT_LOAD=1 go test -v -run TestLoad ./examples/loadtest -args -conns 200 -starttls=false -inflight 1
//
// The package has no non-test code; docs/security.md records its figures.
package loadtest

// Package authserver is the code the example IMAP and SMTP servers
// (examples/imapserver, examples/smtpserver) share: their command-line
// flags, the account files they load, the SASL (RFC 4422) registry they
// offer, the connection handling (line reading with limits and deadlines,
// STARTTLS, implicit TLS, a connection cap) and the loop that runs one SASL
// exchange over a line protocol.
//
// It is internal to the examples: the protocol servers show how an
// application embeds saslkit, and this package is what such an application
// would write once for all its protocols.
//
// # What the servers share
//
//   - [Config] and [Config.AddFlags]: -listen, -listen-tls, -cert, -key,
//     -client-ca, -users, -tokens, -mechs, -insecure-auth, -no-sasl-ir,
//     -auth-timeout, -fail-delay, -max-conns, -secret-file and -max-verify.
//   - [ParseUsers]: a Dovecot passwd-file ("name:{SCHEME}data") read into
//     a [creds.MemoryStore], one [creds.Account] per line holding the
//     password and the SCRAM keys; [ParseTokens]: "name:token" lines read
//     into a [mech.TokenValidator].
//   - [Backend]: the registry, the one [creds.Verifier] that every
//     mechanism and the IMAP LOGIN command check secrets through, the TLS
//     configuration and the per-connection [mech.Channel].
//   - [Server] and [Conn]: the accept loop and one client connection.
//     [Conn.Exchange] runs an AUTHENTICATE or AUTH command to its [Outcome];
//     the protocol code turns the outcome into its reply.
//
// # Real clients' quirks
//
// [Conn.Exchange] takes "=" as an empty message both as an initial response
// and as a continuation (curl sends "=" as a continuation for EXTERNAL), an
// empty line as an empty response (gsasl, imaplib), "*" as a cancellation,
// and an empty initial-response argument as no initial response (smtplib's
// "AUTH EXTERNAL " with a trailing space). LOGIN with the user name as the
// initial response (curl, smtplib) is handled by the LOGIN mechanism.
package authserver

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
//     -auth-timeout, -fail-delay, -max-conns, -secret-file, -max-verify,
//     -upgrade, -cache-ttl, -cache-miss-ttl, -limit and the -limit-*
//     policy; and, set by a program rather than a flag, Config.Store (a
//     store it opened, in place of -users) and Config.Limiter (a shared
//     limiter, in place of -limit).
//   - The failed-login limiter ([limit.Limiter]): before an attempt the
//     address's delay is waited on that connection only; when the exchange
//     looks up an account, the account's, and an account or address past
//     its burst is refused as a temporary failure (NO [UNAVAILABLE], 454)
//     before any secret is checked; the outcome is then reported, with
//     the password PLAIN, LOGIN and the LOGIN command sent, so that a
//     repeat of one wrong password does not escalate.
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

// Package pgsasl carries SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802,
// RFC 7677, with the tls-server-end-point channel binding of RFC 5929) in
// PostgreSQL's frontend/backend protocol, version 3.0, in both directions:
//
//   - [Server] is a minimal PostgreSQL front end. It answers SSLRequest
//     (TLS) and GSSENCRequest (refused), reads the startup message,
//     authenticates the user it names with AuthenticationSASL and a saslkit
//     session, and then answers "SELECT current_user" in the simple query
//     protocol, so that psql, libpq and pgx log in to it as to PostgreSQL.
//   - [Connect] logs in to a PostgreSQL server, such as PostgreSQL 15, with
//     saslkit's SCRAM client, and runs simple queries.
//
// PostgreSQL names the user in its startup message, before SASL, so both
// sides run scram.Mechanism's PostgreSQL variant: the client sends an empty
// user name ("n=,r=…") and the server takes the user from
// mech.Channel.User. Keys are those PostgreSQL stores in
// pg_authid.rolpassword ("SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>"),
// read with [ReadKeys].
//
// As PostgreSQL does, a failed login is reported to the client as
// SQLSTATE 28P01, "password authentication failed for user …", whatever
// the reason; the reason goes to the server's log only.
package pgsasl

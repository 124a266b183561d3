// Package imapbench measures IMAP (RFC 3501) logins: closed-loop
// AUTHENTICATE commands (SASL, RFC 4422, with the SASL-IR initial response
// of RFC 4959) run by saslkit's client sessions against a server, with the
// login rate, the latency percentiles and the CPU the server spent per
// login, read from /proc before and after the measured window.
//
// A [Load] runs the logins: each of its connections loops connect, TLS
// handshake (for implicit TLS), greeting, AUTHENTICATE, tagged OK or NO,
// LOGOUT and close, for a warm-up and then for the measured window.
// [ReadTree] reads the CPU of a process and of every process whose parent
// chain leads to it, which is how a Dovecot instance, a master and the
// processes it forks, is measured as one server.
//
// The servers the comparison runs, examples/imapserver and a private,
// unprivileged Dovecot 2.3, are set up by [StartIMAPServer] and
// [StartDovecot] from one passwd-file ([WriteUsers]) and one certificate
// ([WriteCertificate]), and stopped by their process IDs.
//
// The package is Linux-only: it reads /proc.
package imapbench

// Package gosasl lets any saslkit SASL (RFC 4422) client session run where
// emersion/go-sasl's sasl.Client is expected: go-imap v2's
// imapclient.Client.Authenticate (IMAP AUTHENTICATE, RFC 9051, with SASL-IR,
// RFC 4959) and go-smtp's smtp.Client.Auth (SMTP AUTH, RFC 4954).
//
// Use [Authenticate] with go-smtp, and [IMAPConn.Authenticate] with go-imap
// v2:
//
//	sess, err := reg.NewClient("SCRAM-SHA-256", creds.Client{Authcid: "user", Password: pw}, ch)
//	...
//	err = gosasl.Authenticate(ctx, sess, smtpClient.Auth)
//
//	ic := gosasl.NewIMAPConn(tlsConn)
//	imapClient := imapclient.New(ic, nil)
//	err = ic.Authenticate(ctx, sess, imapClient.Authenticate)
//
// It returns nil only when the server said OK and the mechanism accepted
// the server: SCRAM's server signature ("v=", RFC 5802 section 3) has been
// checked. go-sasl's sasl.Client has no way to learn that the server said
// OK, so a bare [Client] cannot make that check on its own; [NewClient] is
// for callers that drive the framework themselves and then call
// session.Client.Success.
//
// # What the adapter bridges
//
//   - go-sasl's Start returns a nil initial response for "none" and a
//     non-nil empty one for "empty". A session whose mechanism has an empty
//     initial response (EXTERNAL without an authzid) gives []byte{}, which
//     go-imap v2 and go-smtp both send as "=" (AUTHENTICATE EXTERNAL =,
//     AUTH EXTERNAL =). A server-first mechanism (LOGIN, CRAM-MD5) gives
//     nil, and the framework sends the command alone.
//   - go-smtp stops the exchange, without sending anything, when Next
//     returns a nil response; [Client.Next] therefore always returns a
//     non-nil slice, []byte{} for an empty response.
//   - IMAP and SMTP carry SCRAM's server-final message as a last challenge.
//     Next verifies it (session.Client.Next does) and answers with an empty
//     response; a wrong signature is an error wrapping mech.ErrAuthFailed
//     and the framework aborts the exchange.
//   - go-imap v2 sends an empty response as "=", which Dovecot refuses
//     outside SASL-IR; go-smtp sends an empty line. [IMAPConn] makes
//     go-imap send the empty line too.
//   - A server that ignores or does not take an initial response sends an
//     empty challenge first. go-imap v2 answers it with the initial
//     response itself; go-smtp calls Next, and session.Client.Next answers
//     an empty challenge right after Start with the initial response again.
//
// Errors are the framework's (an *imap.Error for a tagged NO, an
// *smtp.SMTPError for a 535) or the session's, which match mech and session
// sentinels with errors.Is. When the server reported a failure inside the
// mechanism (an OAUTHBEARER or XOAUTH2 JSON error), the error returned by
// [Authenticate] also wraps session.Client.Failure, a *mech.TokenError.
// After any error, close the connection: go-imap v2 leaves an AUTHENTICATE
// command it aborted unfinished, and go-smtp sends "*" even after the
// server's 535, which Dovecot counts as an invalid command.
package gosasl

// Package findings holds one regression test per finding of two reviews,
// each driven through the public API as an application would, and each
// failing on the code the review looked at, ab610cd: findings_test.go for
// the review that led to the one identity model (docs/design.md, "Where a
// secret is checked"), and integration_test.go for the review that wired
// saslkit into go-imap v2, go-sasl, franz-go, kafka-go, pgx and mellium
// (its finding 5, gsasl's RSA client certificate, is tested in
// examples/goimap, where the real gsasl runs). It has no non-test code.
package findings

module github.com/saslkit/saslkit/adapters/gosasl

go 1.24.0

replace github.com/saslkit/saslkit => ../..

require (
	github.com/emersion/go-imap/v2 v2.0.0-beta.8
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6
	github.com/emersion/go-smtp v0.25.1
	github.com/google/go-cmp v0.7.0
	github.com/saslkit/saslkit v0.0.0-00010101000000-000000000000
)

require (
	github.com/emersion/go-message v0.18.2 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)

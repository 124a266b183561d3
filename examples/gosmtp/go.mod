module github.com/saslkit/saslkit/examples/gosmtp

go 1.24.0

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6
	github.com/emersion/go-smtp v0.25.1
	github.com/saslkit/saslkit v0.0.0-00010101000000-000000000000
)

require (
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)

replace github.com/saslkit/saslkit => ../..

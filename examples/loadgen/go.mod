module github.com/saslkit/saslkit/examples/loadgen

go 1.25.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/saslkit/saslkit v0.0.0-00010101000000-000000000000
)

require (
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)

replace github.com/saslkit/saslkit => ../..

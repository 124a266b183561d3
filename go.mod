module github.com/saslkit/saslkit

go 1.24.0

require (
	github.com/google/go-cmp v0.7.0
	golang.org/x/crypto v0.48.0
	golang.org/x/text v0.34.0
)

require golang.org/x/sys v0.41.0 // indirect

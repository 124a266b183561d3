module github.com/saslkit/saslkit/internal/benchcmp

go 1.26

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6
	github.com/lib/pq v1.12.3
	github.com/saslkit/saslkit v0.0.0-00010101000000-000000000000
	github.com/xdg-go/scram v1.4.0
	mellium.im/sasl v0.3.2
)

require (
	github.com/xdg-go/stringprep v1.0.4 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)

replace github.com/saslkit/saslkit => ../..

module github.com/saslkit/saslkit/adapters/mellium

go 1.24.0

replace github.com/saslkit/saslkit => ../..

require (
	github.com/google/go-cmp v0.7.0
	github.com/saslkit/saslkit v0.0.0-00010101000000-000000000000
	mellium.im/sasl v0.3.2
	mellium.im/xmlstream v0.15.4
	mellium.im/xmpp v0.22.0
)

require (
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/mod v0.32.0 // indirect
	golang.org/x/net v0.49.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
	golang.org/x/tools v0.41.0 // indirect
	mellium.im/reader v0.1.0 // indirect
)

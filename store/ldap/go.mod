module github.com/saslkit/saslkit/store/ldap

go 1.26.0

require (
	github.com/go-ldap/ldap/v3 v3.4.15
	github.com/google/go-cmp v0.7.0
	github.com/saslkit/saslkit v0.0.0-00010101000000-000000000000
	golang.org/x/crypto v0.54.0
)

require (
	github.com/Azure/go-ntlmssp v0.1.1 // indirect
	github.com/go-asn1-ber/asn1-ber v1.5.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
)

replace github.com/saslkit/saslkit => ../..

package ldapstore_test

import (
	"context"
	"log"
	"time"

	"github.com/saslkit/saslkit/creds"
	ldapstore "github.com/saslkit/saslkit/store/ldap"
)

// A server whose accounts are in OpenLDAP: the service account reads
// userPassword and authPassword, and every mechanism checks through one
// Verifier on the store.
func ExampleOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := ldapstore.Open(ctx, ldapstore.Config{
		URL:          "ldaps://ldap.example.org",
		BindDN:       "cn=saslkit,ou=services,dc=example,dc=org",
		BindPassword: "service password, from a secret store",
		BaseDN:       "ou=people,dc=example,dc=org",
		Filter:       "(&(objectClass=inetOrgPerson)(uid=%s))",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	v := &creds.Verifier{Store: store}
	account, err := v.CheckPassword(ctx, "alice", "pencil")
	if err != nil {
		log.Print(err) // a wrong password, or an *ldapstore.Error
		return
	}
	log.Printf("logged in as %s", account)
}

// A directory that releases no hashes: the service account only searches,
// and passwords are checked by binding as the user. Unknown users bind as
// a decoy entry of the accounts' scheme.
func ExampleConfig_bindVerify() {
	cfg := ldapstore.Config{
		URL:          "ldap://ldap.example.org",
		StartTLS:     true,
		BindDN:       "cn=search,ou=services,dc=example,dc=org",
		BindPassword: "service password",
		BaseDN:       "ou=people,dc=example,dc=org",
		Filter:       "(uid=%s)",
		BindVerify:   true,
		DecoyDN:      "cn=decoy,ou=services,dc=example,dc=org",
	}
	_ = cfg
}

package postgres_test

import (
	"context"
	"fmt"
	"log"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/store/postgres"
)

// A server opens the store from a connection string, migrating the schema
// if need be, and checks every password through one Verifier on it.
func ExampleOpen() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, "postgres://saslkit@localhost/accounts", &postgres.Config{Migrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	pw, err := creds.HashPassword("pencil", hash.Argon2id{})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.SetAccount(ctx, creds.Account{Name: "alice", Password: pw}); err != nil {
		log.Fatal(err)
	}
	v := &creds.Verifier{Store: store, Upgrade: []string{"SHA-256"}}
	account, err := v.CheckPassword(ctx, "alice", "pencil")
	fmt.Println(account, err)
}

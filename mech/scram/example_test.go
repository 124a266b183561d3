package scram_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// A SCRAM-SHA-256 exchange, client against server, over IMAP-style
// framing: the server's "v=" goes as a last challenge (FinalAsChallenge),
// which the client checks before it accepts success. The server looks the
// keys up through its Verifier, the same path PLAIN checks passwords
// through; one account record serves both.
func ExampleMechanism() {
	ctx := context.Background()
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "user", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		panic(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}, FinalAsChallenge: true}

	m := scram.Mechanism{Hash: scram.SHA256}
	srv, err := session.NewServer(m, mech.Channel{}, cfg)
	if err != nil {
		panic(err)
	}
	cli := session.NewClient(m, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, nil)

	ir, _, _ := cli.Start(ctx)
	step, err := srv.StartInitial(ctx, ir)
	for err == nil && !step.Done {
		first, _, _ := strings.Cut(string(step.Challenge), "=")
		fmt.Printf("S: %s=…\n", first)
		var resp []byte
		if resp, err = cli.Next(ctx, step.Challenge); err == nil {
			step, err = srv.Next(ctx, resp)
		}
	}
	if err != nil {
		panic(err)
	}
	fmt.Println("S: OK; client accepts:", cli.Success(ctx) == nil)
	fmt.Println("account:", step.Principal.Account())
	// Output:
	// S: r=…
	// S: v=…
	// S: OK; client accepts: true
	// account: user
}

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

// PostgreSQL's variant: the user is named in the startup message, so libpq
// and pgx send "n,,n=,r=…", and the server takes the user from
// mech.Channel.User. The keys here are read from PostgreSQL's own
// pg_authid.rolpassword format.
func ExampleMechanism_postgreSQL() {
	ctx := context.Background()
	// pg_authid.rolpassword for the password "pencil".
	rolpassword := "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$" +
		"nQpbZ77WudtqufPwikHXGRt6g2QJ4zns8bZLw273DRM=:jn2amWP1q1h+jgjy0YTO14S6/F02SV7taipOeB7ef20="
	keys, err := creds.ParseSCRAMKeys(rolpassword)
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		panic(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}

	pg := scram.Mechanism{PostgreSQL: true}
	startup := mech.Channel{User: "alice"} // from the StartupMessage
	srv, err := session.NewServer(pg, startup, cfg)
	if err != nil {
		panic(err)
	}
	cli := session.NewClient(pg, creds.Client{Password: "pencil"}, mech.Channel{}, nil)
	p, err := session.Run(ctx, cli, srv, func(m session.Message) {
		if m.Kind == session.InitialResponse {
			fmt.Printf("client-first: %s…\n", m.Data[:8])
		}
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("authenticated", p.Account())

	// Without the startup user, the server cannot be built.
	_, err = session.NewServer(pg, mech.Channel{}, cfg)
	fmt.Println(err)
	// Output:
	// client-first: n,,n=,r=…
	// authenticated alice
	// saslkit/mech: SCRAM-SHA-256: misconfigured: PostgreSQL variant needs the connection's user (mech.Channel.User)
}

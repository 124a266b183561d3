package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// A server advertises PLAIN and LOGIN only once the connection is secure,
// and EXTERNAL only when the transport vouches for a client identity. A
// registry never advertises what its configuration cannot serve.
func ExampleRegistry_Advertise() {
	pw, err := creds.HashPassword("secret", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", Password: pw}); err != nil {
		panic(err)
	}
	cfg := &registry.Config{}
	cfg.Session.Verifier = &creds.Verifier{Store: &store}
	r, err := registry.Named(cfg, "EXTERNAL", "PLAIN", "LOGIN")
	if err != nil {
		panic(err)
	}
	fmt.Println("plain text:", r.Advertise(mech.Channel{}))
	fmt.Println("TLS:       ", r.Advertise(mech.Channel{Secure: true}))
	fmt.Println("TLS + cert:", r.Advertise(mech.Channel{Secure: true, External: "CN=alice"}))

	// The same mechanisms in a client registry (no Verifier): no server
	// runs, so none is advertised, but EXTERNAL, which needs no store.
	client, err := registry.Named(nil, "EXTERNAL", "CRAM-MD5", "PLAIN", "LOGIN")
	if err != nil {
		panic(err)
	}
	fmt.Println("client registry, TLS + cert:", client.Advertise(mech.Channel{Secure: true, External: "CN=alice"}))
	// Output:
	// plain text: []
	// TLS:        [PLAIN LOGIN]
	// TLS + cert: [EXTERNAL PLAIN LOGIN]
	// client registry, TLS + cert: [EXTERNAL]
}

// A client picks the mechanism it prefers among those the server
// advertised, skipping the ones it has no credentials for.
func ExampleRegistry_Select() {
	r, err := registry.Named(nil, "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN")
	if err != nil {
		panic(err)
	}
	advertised := []string{"login", "plain", "xoauth2"} // as the server sent them
	tls := mech.Channel{Secure: true}

	name, err := r.Select(advertised, creds.Client{Authcid: "alice", Password: "secret"}, tls)
	fmt.Println("with a password:", name, err)
	name, err = r.Select(advertised, creds.Client{Authcid: "alice", Token: "ya29.token"}, tls)
	fmt.Println("with a token:   ", name, err)
	_, err = r.Select(advertised, creds.Client{Authcid: "alice", Password: "secret"}, mech.Channel{})
	fmt.Println("in plain text:  ", err)
	// Output:
	// with a password: PLAIN <nil>
	// with a token:    XOAUTH2 <nil>
	// in plain text:   saslkit/registry: no usable mechanism: XOAUTH2 sends a reusable secret and needs TLS; PLAIN sends a reusable secret and needs TLS; LOGIN sends a reusable secret and needs TLS
}

// A server creates a session for the mechanism the client asked for,
// whatever its case, and refuses one it would not advertise. The
// registry's session Config holds the Verifier every mechanism checks
// passwords through.
func ExampleRegistry_NewServer() {
	ctx := context.Background()
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", Password: "{PLAIN}secret"}); err != nil {
		panic(err)
	}
	cfg := &registry.Config{}
	cfg.Session.Verifier = &creds.Verifier{Store: &store}
	r, err := registry.Named(cfg, "PLAIN", "LOGIN")
	if err != nil {
		panic(err)
	}

	// "AUTHENTICATE plain" over a connection without TLS.
	if _, err := r.NewServer("plain", mech.Channel{}); err != nil {
		fmt.Println("NO", err)
	}
	// A mechanism the registry does not have.
	if _, err := r.NewServer("scram-sha-256", mech.Channel{Secure: true}); err != nil {
		fmt.Println("NO", err)
	}
	// PLAIN over TLS, with the user name in another form.
	sess, err := r.NewServer("plain", mech.Channel{Secure: true})
	if err != nil {
		panic(err)
	}
	step, err := sess.StartInitial(ctx, []byte("\x00ａｌｉｃｅ\x00secret"))
	if err != nil {
		panic(err)
	}
	fmt.Println(sess.Mechanism(), "done:", step.Done, "account:", step.Principal.Account())

	// A registry without a Verifier is a client's: it runs no server.
	_, err = registry.Defaults().NewServer("PLAIN", mech.Channel{Secure: true})
	fmt.Println(errors.Is(err, creds.ErrMisconfigured))
	// Output:
	// NO saslkit/registry: mechanism requires encryption: PLAIN
	// NO saslkit/registry: unknown mechanism: SCRAM-SHA-256
	// PLAIN done: true account: alice
	// true
}

// A server registry is checked when it is built: a SCRAM mechanism over a
// store that holds no SCRAM keys is a configuration error naming it, not a
// login that always fails.
func ExampleNamed() {
	pw, err := creds.HashPassword("secret", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", Password: pw}); err != nil {
		panic(err)
	}
	cfg := &registry.Config{}
	cfg.Session.Verifier = &creds.Verifier{Store: &store}

	_, err = registry.Named(cfg, "SCRAM-SHA-256", "PLAIN")
	fmt.Println("misconfigured:", errors.Is(err, creds.ErrMisconfigured))
	fmt.Println("names SCRAM-SHA-256:", strings.Contains(err.Error(), "SCRAM-SHA-256"))
	r, err := registry.Named(cfg, "PLAIN", "LOGIN")
	fmt.Println(r.Names(), err)
	// Output:
	// misconfigured: true
	// names SCRAM-SHA-256: true
	// [PLAIN LOGIN] <nil>
}

// One store serves SCRAM and PLAIN: an account record holds a password hash
// for PLAIN and SCRAM keys for SCRAM-SHA-256, and both mechanisms check
// through the registry's one Verifier. A client spelling the name in
// another form logs in to the account by its stored name.
func ExampleNamed_oneStore() {
	ctx := context.Background()
	pw, err := creds.HashPassword("pencil", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		panic(err)
	}
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", Password: pw, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		panic(err)
	}
	cfg := &registry.Config{Session: session.Config{Verifier: &creds.Verifier{Store: &store}}}
	server, err := registry.Named(cfg, "SCRAM-SHA-256", "PLAIN")
	if err != nil {
		panic(err)
	}
	client, err := registry.Named(nil, "SCRAM-SHA-256", "PLAIN")
	if err != nil {
		panic(err)
	}

	tls := mech.Channel{Secure: true}
	for _, name := range server.Advertise(tls) {
		srv, err := server.NewServer(name, tls)
		if err != nil {
			panic(err)
		}
		cli, err := client.NewClient(name, creds.Client{Authcid: "ａｌｉｃｅ", Password: "pencil"}, tls)
		if err != nil {
			panic(err)
		}
		p, err := session.Run(ctx, cli, srv, nil)
		if err != nil {
			fmt.Println(name, err)
			continue
		}
		fmt.Println(name, p.Account())
	}
	// Output:
	// SCRAM-SHA-256 alice
	// PLAIN alice
}

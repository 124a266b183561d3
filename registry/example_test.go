package registry_test

import (
	"fmt"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
)

// A server advertises PLAIN and LOGIN only once the connection is secure,
// and EXTERNAL only when the transport vouches for a client identity.
func ExampleRegistry_Advertise() {
	r, err := registry.Named(nil, "EXTERNAL", "CRAM-MD5", "PLAIN", "LOGIN")
	if err != nil {
		panic(err)
	}
	fmt.Println("plain text:", r.Advertise(mech.Channel{}))
	fmt.Println("TLS:       ", r.Advertise(mech.Channel{Secure: true}))
	fmt.Println("TLS + cert:", r.Advertise(mech.Channel{Secure: true, External: "CN=alice"}))
	// Output:
	// plain text: [CRAM-MD5]
	// TLS:        [CRAM-MD5 PLAIN LOGIN]
	// TLS + cert: [EXTERNAL CRAM-MD5 PLAIN LOGIN]
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
	// in plain text:   saslkit/registry: no usable mechanism
}

// A server creates a session for the mechanism the client asked for,
// whatever its case, and refuses one it would not advertise.
func ExampleRegistry_Server() {
	store := &creds.MapStore{}
	store.Add(creds.ClearIdentity{Name: "alice", Password: "secret"})
	cfg := &registry.Config{}
	cfg.Session.Identities = store
	r, err := registry.Named(cfg, "PLAIN", "LOGIN")
	if err != nil {
		panic(err)
	}

	// "AUTHENTICATE plain" over a connection without TLS.
	if _, err := r.Server("plain", mech.Channel{}); err != nil {
		fmt.Println("NO", err)
	}
	// The same over TLS.
	sess, err := r.Server("plain", mech.Channel{Secure: true})
	if err != nil {
		panic(err)
	}
	step, err := sess.StartInitial(ctx, []byte("\x00alice\x00secret"))
	if err != nil {
		panic(err)
	}
	fmt.Println(sess.Mechanism(), "done:", step.Done, "user:", step.Creds.Effective())
	// Output:
	// NO saslkit/registry: mechanism requires encryption
	// PLAIN done: true user: alice
}

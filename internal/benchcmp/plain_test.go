package benchcmp

// Items 1 and 2 of issue 6: the PLAIN server exchange, with and without an
// initial response, verified against a clear identity; and the PLAIN and
// EXTERNAL client initial responses.

import (
	"context"
	"crypto/subtle"
	"errors"
	"testing"

	emersion "github.com/emersion/go-sasl"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
	mellium "mellium.im/sasl"
)

// The example of RFC 4616 section 4: no authzid, authcid "tim".
const (
	plainUser = "tim"
	plainPass = "tanstaaftanstaaf"
)

var plainIR = []byte("\x00" + plainUser + "\x00" + plainPass)

var errBad = errors.New("bad credentials")

// checkClear is what a peer's authenticator does with a clear identity:
// the name must match, the authzid must be empty or the user itself, and
// the password is compared in constant time.
func checkClear(authzid, authcid, pass string) error {
	if authzid != "" && authzid != authcid {
		return errBad
	}
	if authcid != plainUser || subtle.ConstantTimeCompare([]byte(pass), []byte(plainPass)) != 1 {
		return errBad
	}
	return nil
}

// plainStore returns a store holding the RFC 4616 user with a clear
// password.
func plainStore(tb testing.TB) *creds.MemoryStore {
	s := &creds.MemoryStore{}
	if err := s.Add(creds.Account{Name: plainUser, Password: "{PLAIN}" + plainPass}); err != nil {
		tb.Fatal(err)
	}
	return s
}

// added returns a as a MemoryStore keeps it once added, with its clear
// password prepared once.
func added(tb testing.TB, a creds.Account) *creds.Account {
	var s creds.MemoryStore
	if err := s.Add(a); err != nil {
		tb.Fatal(err)
	}
	id, err := s.Lookup(context.Background(), a.Name)
	if err != nil {
		tb.Fatal(err)
	}
	return id.(*creds.Account)
}

// oneAccount is the smallest Store: one account, found by exact name. It
// stands for verifying against the user's identity directly, without a
// store's map.
type oneAccount struct{ a *creds.Account }

func (o oneAccount) Lookup(_ context.Context, name string) (creds.Identity, error) {
	if name != o.a.Name {
		return nil, creds.ErrUnknownUser
	}
	return o.a, nil
}

func (o oneAccount) Profile() creds.Profile { return creds.Profile{ClearSecrets: true} }

// plainConfig is a server configuration whose Verifier holds the RFC 4616
// user: in a oneAccount store, with SASLprep unless noprep, or in a
// MemoryStore.
func plainConfig(tb testing.TB, kind string) *session.Config {
	var store creds.Store
	switch kind {
	case "one":
		store = oneAccount{added(tb, creds.Account{Name: plainUser, Password: "{PLAIN}" + plainPass})}
	case "noprep":
		store = oneAccount{added(tb, creds.Account{Name: plainUser, Password: "{PLAIN}" + plainPass, NoPrep: true})}
	default:
		store = plainStore(tb)
	}
	return &session.Config{Verifier: &creds.Verifier{Store: store}}
}

func newServer(b *testing.B, m mech.Server, ch mech.Channel, cfg *session.Config) *session.Server {
	s, err := session.NewServer(m, ch, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkPLAINServer(b *testing.B) {
	secure := mech.Channel{Secure: true}
	var m mech.Server = mech.Plain{}

	// saslkit: the session's Verifier checks the password against the
	// user's account (a one-account store: no map).
	b.Run("saslkit", func(b *testing.B) {
		cfg := plainConfig(b, "one")
		measure(b, func() {
			s := newServer(b, m, secure, cfg)
			step, err := s.StartInitial(ctx, plainIR)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
		})
	})
	// saslkit with SASLprep off: the same comparison the peers make.
	b.Run("saslkit-noprep", func(b *testing.B) {
		cfg := plainConfig(b, "noprep")
		measure(b, func() {
			s := newServer(b, m, secure, cfg)
			step, err := s.StartInitial(ctx, plainIR)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
		})
	})
	// saslkit-reset: one Server per connection, reset for each exchange
	// (session.Server.Reset), as protocol code can keep it.
	b.Run("saslkit-reset", func(b *testing.B) {
		cfg := plainConfig(b, "one")
		s := newServer(b, m, secure, cfg)
		measure(b, func() {
			if err := s.Reset(m, secure); err != nil {
				b.Fatal(err)
			}
			step, err := s.StartInitial(ctx, plainIR)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
		})
	})
	// saslkit-store: the Verifier looks the account up in a
	// creds.MemoryStore.
	b.Run("saslkit-store", func(b *testing.B) {
		cfg := plainConfig(b, "store")
		measure(b, func() {
			s := newServer(b, m, secure, cfg)
			step, err := s.StartInitial(ctx, plainIR)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
		})
	})
	b.Run("emersion", func(b *testing.B) {
		measure(b, func() {
			s := emersion.NewPlainServer(checkClear)
			_, done, err := s.Next(plainIR)
			if err != nil || !done {
				b.Fatal(done, err)
			}
		})
	})
	b.Run("mellium", func(b *testing.B) {
		perm := func(n *mellium.Negotiator) bool {
			u, p, id := n.Credentials()
			return checkClear(string(id), string(u), string(p)) == nil
		}
		measure(b, func() {
			s := mellium.NewServer(mellium.Plain, perm)
			more, _, err := s.Step(plainIR)
			if err != nil || more {
				b.Fatal(more, err)
			}
		})
	})
}

// BenchmarkPLAINServerNoIR is the exchange without an initial response: the
// server sends an empty challenge and the client answers it. mellium has no
// server-side start step (the protocol layer sends the empty challenge), so
// it is left out.
func BenchmarkPLAINServerNoIR(b *testing.B) {
	secure := mech.Channel{Secure: true}
	var m mech.Server = mech.Plain{}
	for _, v := range []struct{ name, store string }{{"saslkit", "one"}, {"saslkit-store", "store"}} {
		b.Run(v.name, func(b *testing.B) {
			cfg := plainConfig(b, v.store)
			measure(b, func() {
				s := newServer(b, m, secure, cfg)
				step, err := s.Start(ctx)
				if err != nil || step.Done || len(step.Challenge) != 0 {
					b.Fatal(step, err)
				}
				step, err = s.Next(ctx, plainIR)
				if err != nil || !step.Done {
					b.Fatal(step, err)
				}
			})
		})
	}
	b.Run("emersion", func(b *testing.B) {
		measure(b, func() {
			s := emersion.NewPlainServer(checkClear)
			c, done, err := s.Next(nil)
			if err != nil || done || len(c) != 0 {
				b.Fatal(done, err)
			}
			_, done, err = s.Next(plainIR)
			if err != nil || !done {
				b.Fatal(done, err)
			}
		})
	})
}

func BenchmarkPLAINClient(b *testing.B) {
	var m mech.Client = mech.Plain{}
	c := creds.Client{Authcid: plainUser, Password: plainPass}
	b.Run("saslkit", func(b *testing.B) {
		measure(b, func() {
			s := session.NewClient(m, c, mech.Channel{}, nil)
			ir, ok, err := s.Start(ctx)
			if err != nil || !ok || len(ir) != len(plainIR) {
				b.Fatal(ok, err)
			}
		})
	})
	// saslkit-reset: one Client per connection, reset for each exchange.
	b.Run("saslkit-reset", func(b *testing.B) {
		s := session.NewClient(m, c, mech.Channel{}, nil)
		measure(b, func() {
			s.Reset(m, c, mech.Channel{})
			ir, ok, err := s.Start(ctx)
			if err != nil || !ok || len(ir) != len(plainIR) {
				b.Fatal(ok, err)
			}
		})
	})
	b.Run("emersion", func(b *testing.B) {
		measure(b, func() {
			s := emersion.NewPlainClient("", plainUser, plainPass)
			_, ir, err := s.Start()
			if err != nil || len(ir) != len(plainIR) {
				b.Fatal(err)
			}
		})
	})
	b.Run("mellium", func(b *testing.B) {
		cred := mellium.Credentials(func() (u, p, id []byte) {
			return []byte(plainUser), []byte(plainPass), nil
		})
		measure(b, func() {
			s := mellium.NewClient(mellium.Plain, cred)
			_, ir, err := s.Step(nil)
			if err != nil || len(ir) != len(plainIR) {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkEXTERNALClient: the initial response with no authzid, the usual
// case. mellium has no EXTERNAL.
func BenchmarkEXTERNALClient(b *testing.B) {
	var m mech.Client = mech.External{}
	b.Run("saslkit", func(b *testing.B) {
		measure(b, func() {
			s := session.NewClient(m, creds.Client{}, mech.Channel{}, nil)
			ir, ok, err := s.Start(ctx)
			if err != nil || !ok || len(ir) != 0 {
				b.Fatal(ok, err)
			}
		})
	})
	b.Run("emersion", func(b *testing.B) {
		measure(b, func() {
			s := emersion.NewExternalClient("")
			_, ir, err := s.Start()
			if err != nil || len(ir) != 0 {
				b.Fatal(err)
			}
		})
	})
}

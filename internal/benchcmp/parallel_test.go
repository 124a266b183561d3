package benchcmp

// Item 7 of issue 6: server load from many goroutines, one shared registry
// (saslkit) or server (xdg-go) and one session per exchange. Run with
// -cpu=1,2,… to see the scaling.

import (
	"testing"

	emersion "github.com/emersion/go-sasl"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
	xdg "github.com/xdg-go/scram"
	mellium "mellium.im/sasl"
)

// sharedRegistry is the registry registry.Named(cfg, "PLAIN",
// "SCRAM-SHA-256") builds, except that its SCRAM mechanism draws the RFC
// 7677 server nonce, so that the client's messages can be replayed. One
// store holds the PLAIN user (a clear password) and the SCRAM user (the
// RFC's keys). The SCRAM user has a clear password too: in a store of
// clear and hashed passwords (keys only) the Verifier would check every
// clear password against a decoy of the hashed kind as well, a PBKDF2 of
// 4096 rounds per PLAIN login, which is not the work this benchmark
// compares.
func sharedRegistry(b *testing.B) *registry.Registry {
	v := loadVector(b, "SCRAM-SHA-256")
	store := plainStore(b)
	if err := store.Add(creds.Account{Name: v.User, Password: "{PLAIN}" + v.Password, SCRAM: []creds.SCRAMKeys{v.keys(b)}}); err != nil {
		b.Fatal(err)
	}
	cfg := &registry.Config{Session: session.Config{Verifier: &creds.Verifier{Store: store}}}
	r, err := registry.New(cfg,
		mech.Plain{},
		scram.Mechanism{Rand: fixedNonce(v.ServerNonce), NonceLen: len(v.ServerNonce)},
	)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkParallelPLAIN(b *testing.B) {
	secure := mech.Channel{Secure: true}
	b.Run("saslkit", func(b *testing.B) {
		r := sharedRegistry(b)
		runParallel(b, func(pb *testing.PB) {
			for pb.Next() {
				s, err := r.NewServer("PLAIN", secure)
				if err != nil {
					b.Fatal(err)
				}
				step, err := s.StartInitial(ctx, plainIR)
				if err != nil || !step.Done {
					b.Fatal(step, err)
				}
			}
		})
	})
	b.Run("emersion", func(b *testing.B) {
		runParallel(b, func(pb *testing.PB) {
			for pb.Next() {
				s := emersion.NewPlainServer(checkClear)
				if _, done, err := s.Next(plainIR); err != nil || !done {
					b.Fatal(done, err)
				}
			}
		})
	})
	b.Run("mellium", func(b *testing.B) {
		perm := func(n *mellium.Negotiator) bool {
			u, p, id := n.Credentials()
			return checkClear(string(id), string(u), string(p)) == nil
		}
		runParallel(b, func(pb *testing.PB) {
			for pb.Next() {
				s := mellium.NewServer(mellium.Plain, perm)
				if more, _, err := s.Step(plainIR); err != nil || more {
					b.Fatal(more, err)
				}
			}
		})
	})
}

func BenchmarkParallelSCRAM(b *testing.B) {
	v := loadVector(b, "SCRAM-SHA-256")
	cf, cfin := []byte(v.ClientFirst), []byte(v.ClientFinal)
	b.Run("saslkit", func(b *testing.B) {
		r := sharedRegistry(b)
		runParallel(b, func(pb *testing.PB) {
			for pb.Next() {
				s, err := r.NewServer("SCRAM-SHA-256", mech.Channel{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.StartInitial(ctx, cf); err != nil {
					b.Fatal(err)
				}
				step, err := s.Next(ctx, cfin)
				if err != nil || !step.Done {
					b.Fatal(step, err)
				}
			}
		})
	})
	b.Run("xdg-go", func(b *testing.B) {
		srv, err := xdg.SHA256.NewServer(xdgLookup(b, v))
		if err != nil {
			b.Fatal(err)
		}
		srv.WithNonceGenerator(func() string { return v.ServerNonce })
		runParallel(b, func(pb *testing.PB) {
			for pb.Next() {
				c := srv.NewConversation()
				if _, err := c.Step(v.ClientFirst); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Step(v.ClientFinal); err != nil || !c.Valid() {
					b.Fatal(err)
				}
			}
		})
	})
}

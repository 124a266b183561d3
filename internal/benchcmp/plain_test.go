package benchcmp

// Items 1 and 2 of issue 6: the PLAIN server exchange, with and without an
// initial response, verified against a clear identity; and the PLAIN and
// EXTERNAL client initial responses.

import (
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

func plainStore() *creds.MapStore {
	s := &creds.MapStore{}
	s.Add(creds.ClearIdentity{Name: plainUser, Password: plainPass})
	return s
}

func BenchmarkPLAINServer(b *testing.B) {
	secure := mech.Channel{Secure: true}
	var m mech.Server = mech.Plain{}

	// saslkit: the caller verifies Step.Creds against the user's identity.
	b.Run("saslkit", func(b *testing.B) {
		var id creds.Identity = creds.ClearIdentity{Name: plainUser, Password: plainPass}
		measure(b, func() {
			s := session.NewServer(m, secure, nil)
			step, err := s.StartInitial(ctx, plainIR)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
			if err := step.Creds.Verify(id); err != nil {
				b.Fatal(err)
			}
		})
	})
	// saslkit with SASLprep off: the same comparison the peers make.
	b.Run("saslkit-noprep", func(b *testing.B) {
		var id creds.Identity = creds.ClearIdentity{Name: plainUser, Password: plainPass, NoPrep: true}
		measure(b, func() {
			s := session.NewServer(m, secure, nil)
			step, err := s.StartInitial(ctx, plainIR)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
			if err := step.Creds.Verify(id); err != nil {
				b.Fatal(err)
			}
		})
	})
	// saslkit-store: the session looks the identity up in Config.Identities
	// and verifies it itself.
	b.Run("saslkit-store", func(b *testing.B) {
		cfg := &session.Config{Identities: plainStore()}
		measure(b, func() {
			s := session.NewServer(m, secure, cfg)
			step, err := s.StartInitial(ctx, plainIR)
			if err != nil || !step.Done || !step.Verified {
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
	b.Run("saslkit", func(b *testing.B) {
		var id creds.Identity = creds.ClearIdentity{Name: plainUser, Password: plainPass}
		measure(b, func() {
			s := session.NewServer(m, secure, nil)
			step, err := s.Start(ctx)
			if err != nil || step.Done || len(step.Challenge) != 0 {
				b.Fatal(step, err)
			}
			step, err = s.Next(ctx, plainIR)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
			if err := step.Creds.Verify(id); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("saslkit-store", func(b *testing.B) {
		cfg := &session.Config{Identities: plainStore()}
		measure(b, func() {
			s := session.NewServer(m, secure, cfg)
			step, err := s.Start(ctx)
			if err != nil || step.Done {
				b.Fatal(step, err)
			}
			step, err = s.Next(ctx, plainIR)
			if err != nil || !step.Done || !step.Verified {
				b.Fatal(step, err)
			}
		})
	})
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

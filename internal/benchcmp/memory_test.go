package benchcmp

// Item 8 of issue 6: the heap a server holds for each exchange in flight,
// between steps. Each iteration opens N sessions, leaves them waiting for
// the client's next message, and reports the live-heap growth divided by
// N as B/session. (ns/op is the time to open N sessions.)

import (
	"crypto/sha256"
	"runtime"
	"testing"

	emersion "github.com/emersion/go-sasl"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	xdg "github.com/xdg-go/scram"
	mellium "mellium.im/sasl"
)

const inFlight = 10000

// perSession opens inFlight sessions with open and returns the live heap
// they hold, per session.
func perSession(b *testing.B, open func() any) float64 {
	held := make([]any, inFlight)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range held {
		held[i] = open()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(held)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / inFlight
}

func reportPerSession(b *testing.B, open func() any) {
	var sum float64
	var n int
	for b.Loop() {
		sum += perSession(b, open)
		n++
	}
	b.ReportMetric(sum/float64(n), "B/session")
}

// BenchmarkSessionMemoryPLAIN holds PLAIN sessions after the server's
// empty first challenge (no initial response yet).
func BenchmarkSessionMemoryPLAIN(b *testing.B) {
	secure := mech.Channel{Secure: true}
	var m mech.Server = mech.Plain{}
	b.Run("saslkit", func(b *testing.B) {
		cfg := plainConfig(b, "store")
		reportPerSession(b, func() any {
			s := newServer(b, m, secure, cfg)
			if _, err := s.Start(ctx); err != nil {
				b.Fatal(err)
			}
			return s
		})
	})
	b.Run("emersion", func(b *testing.B) {
		reportPerSession(b, func() any {
			s := emersion.NewPlainServer(checkClear)
			if _, _, err := s.Next(nil); err != nil {
				b.Fatal(err)
			}
			return s
		})
	})
	b.Run("mellium", func(b *testing.B) {
		perm := func(n *mellium.Negotiator) bool { return false }
		reportPerSession(b, func() any {
			return mellium.NewServer(mellium.Plain, perm)
		})
	})
}

// BenchmarkSessionMemorySCRAM holds SCRAM-SHA-256 sessions after the
// server-first message, waiting for client-final. Nonces are random, as in
// production.
func BenchmarkSessionMemorySCRAM(b *testing.B) {
	v := loadVector(b, "SCRAM-SHA-256")
	cf := []byte(v.ClientFirst)
	b.Run("saslkit", func(b *testing.B) {
		var m mech.Server = scram.Mechanism{}
		cfg := scramConfig(b, v.User, v.keys(b))
		reportPerSession(b, func() any {
			s := newServer(b, m, mech.Channel{}, cfg)
			if _, err := s.StartInitial(ctx, cf); err != nil {
				b.Fatal(err)
			}
			return s
		})
	})
	b.Run("xdg-go", func(b *testing.B) {
		srv, err := xdg.SHA256.NewServer(xdgLookup(b, v))
		if err != nil {
			b.Fatal(err)
		}
		reportPerSession(b, func() any {
			c := srv.NewConversation()
			if _, err := c.Step(v.ClientFirst); err != nil {
				b.Fatal(err)
			}
			return c
		})
	})
	b.Run("mellium", func(b *testing.B) {
		salt := unb64(b, v.Salt)
		salted := pbkdf2Key(b, sha256.New, v.Password, salt, v.Iterations, sha256.Size)
		fetch := mellium.SaltedCredentials(func(u, _ []byte, _ string) ([]byte, []byte, int64, error) {
			return salt, salted, int64(v.Iterations), nil
		})
		reportPerSession(b, func() any {
			s := mellium.NewServer(mellium.ScramSha256, nil, fetch)
			if _, _, err := s.Step(cf); err != nil {
				b.Fatal(err)
			}
			return s
		})
	})
}

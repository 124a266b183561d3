package franzgo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	fscram "github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/saslkit/saslkit/adapters/franzgo"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// The accounts of newCluster: one user per mechanism, as kfake keeps a
// user's PLAIN and SCRAM secrets apart.
const (
	plainUser  = "alice"
	scram256   = "bob"
	scram512   = "carol"
	password   = "pencil"
	wrongPass  = "pencil!"
	testTopic  = "saslkit"
	testTimout = 20 * time.Second
)

// newCluster starts an in-process Kafka cluster of three brokers that
// requires SASL. opts are added to the defaults.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{
		kfake.NumBrokers(3),
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", plainUser, password),
		kfake.Superuser("SCRAM-SHA-256", scram256, password),
		kfake.Superuser("SCRAM-SHA-512", scram512, password),
		kfake.SeedTopics(3, testTopic),
	}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// counting wraps a sasl.Mechanism and counts its Authenticate calls.
type counting struct {
	sasl.Mechanism
	n atomic.Int64
}

func (c *counting) Authenticate(ctx context.Context, host string) (sasl.Session, []byte, error) {
	c.n.Add(1)
	return c.Mechanism.Authenticate(ctx, host)
}

type record struct{ Key, Value string }

// roundTrip produces a record with one client and consumes it with
// another, both authenticating with m, and returns what it consumed.
func roundTrip(ctx context.Context, t *testing.T, addrs []string, m sasl.Mechanism, want record) record {
	t.Helper()
	prod, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.SASL(m), kgo.DefaultProduceTopic(testTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte(want.Key), Value: []byte(want.Value)}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.SASL(m),
		kgo.ConsumeTopics(testTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume: %v", err)
		}
		if err := fs.Err(); err != nil {
			t.Fatalf("consume: %v", err)
		}
		var got *record
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == want.Key {
				got = &record{string(r.Key), string(r.Value)}
			}
		})
		if got != nil {
			return *got
		}
	}
}

var loginTests = []struct {
	name     string
	m        mech.Client
	user     string
	password string
	ok       bool
}{
	{"PLAIN", mech.Plain{}, plainUser, password, true},
	{"PLAIN/wrong", mech.Plain{}, plainUser, wrongPass, false},
	{"PLAIN/other-user", mech.Plain{}, scram256, password, false},
	{"SCRAM-SHA-256", scram.Mechanism{}, scram256, password, true},
	{"SCRAM-SHA-256/wrong", scram.Mechanism{}, scram256, wrongPass, false},
	{"SCRAM-SHA-512", scram.Mechanism{Hash: scram.SHA512}, scram512, password, true},
	{"SCRAM-SHA-512/wrong", scram.Mechanism{Hash: scram.SHA512}, scram512, wrongPass, false},
	// carol has SCRAM-SHA-512 credentials only.
	{"SCRAM-SHA-256/other-hash", scram.Mechanism{}, scram512, password, false},
}

// TestKfake logs in to kfake with each mechanism, right and wrong; a
// client that logged in produces a record and consumes it back.
func TestKfake(t *testing.T) {
	c := newCluster(t)
	for _, tt := range loginTests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testTimout)
			defer cancel()
			a, err := franzgo.New(tt.m, creds.Client{Authcid: tt.user, Password: tt.password}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := &counting{Mechanism: a}
			if !tt.ok {
				cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(m))
				if err != nil {
					t.Fatal(err)
				}
				defer cl.Close()
				err = cl.Ping(ctx)
				// kfake refuses a login by closing the connection, as
				// a broker does with SaslHandshake v0; franz-go
				// reports the EOF of the SaslAuthenticate read.
				if !errors.Is(err, io.EOF) || ctx.Err() != nil {
					t.Fatalf("Ping = %v (context: %v), want io.EOF before the deadline", err, ctx.Err())
				}
				if m.n.Load() == 0 {
					t.Fatal("the adapter never authenticated")
				}
				return
			}
			want := record{Key: tt.name, Value: "hello from " + tt.name}
			got := roundTrip(ctx, t, c.ListenAddrs(), m, want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("consumed record (-want +got):\n%s", diff)
			}
			if n := m.n.Load(); n < 2 {
				t.Errorf("%d logins, want one per connection, at least 2", n)
			}
		})
	}
}

// TestConcurrent shares one Mechanism between goroutines, each with its
// own client, as the connections of one client share it.
func TestConcurrent(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimout)
	defer cancel()
	m, err := franzgo.New(scram.Mechanism{}, creds.Client{Authcid: scram256, Password: password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(m))
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			errs <- cl.Ping(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// connects counts the connections a franz-go client opened.
type connects struct{ n atomic.Int64 }

func (c *connects) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		c.n.Add(1)
	}
}

// TestReauthenticate has kfake give sessions a lifetime (KIP-368), so that
// franz-go logs in again on connections that are already authenticated,
// with a fresh session; kfake refuses a second login as another user.
func TestReauthenticate(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a session lifetime")
	}
	c := newCluster(t, kfake.BrokerConfigs(map[string]string{"connections.max.reauth.ms": "1200"}))
	ctx, cancel := context.WithTimeout(context.Background(), testTimout)
	defer cancel()
	a, err := franzgo.New(scram.Mechanism{}, creds.Client{Authcid: scram256, Password: password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, conns := &counting{Mechanism: a}, &connects{}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(m), kgo.WithHooks(conns),
		kgo.DefaultProduceTopic(testTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range 2 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // past the lifetime less franz-go's 1s margin
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if auths, conns := m.n.Load(), conns.n.Load(); auths <= conns {
		t.Errorf("%d logins on %d connections, want more logins than connections", auths, conns)
	}
}

// benchLogin measures one client's connection and login to one broker,
// including a metadata request, with mechanism m.
func benchLogin(b *testing.B, m sasl.Mechanism) {
	c := newCluster(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr := c.ListenAddrs()[0]
	b.ReportAllocs()
	for b.Loop() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(m))
		if err != nil {
			b.Fatal(err)
		}
		if err := cl.Ping(ctx); err != nil {
			b.Fatal(err)
		}
		cl.Close()
	}
}

// BenchmarkLogin compares a SCRAM-SHA-256 login through the adapter with
// franz-go's own pkg/sasl/scram, against kfake.
func BenchmarkLogin(b *testing.B) {
	b.Run("saslkit", func(b *testing.B) {
		m, err := franzgo.New(scram.Mechanism{}, creds.Client{Authcid: scram256, Password: password}, nil)
		if err != nil {
			b.Fatal(err)
		}
		benchLogin(b, m)
	})
	b.Run("saslkit-cache", func(b *testing.B) {
		m, err := franzgo.New(scram.Mechanism{Cache: &scram.KeyCache{}}, creds.Client{Authcid: scram256, Password: password}, nil)
		if err != nil {
			b.Fatal(err)
		}
		benchLogin(b, m)
	})
	b.Run("franz-go", func(b *testing.B) {
		benchLogin(b, fscram.Auth{User: scram256, Pass: password}.AsSha256Mechanism())
	})
}

package kafkago_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	kscram "github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/saslkit/saslkit/adapters/kafkago"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// The accounts of newCluster: one user per mechanism, as kfake keeps a
// user's PLAIN and SCRAM secrets apart.
const (
	plainUser   = "alice"
	scram256    = "bob"
	scram512    = "carol"
	password    = "pencil"
	wrongPass   = "pencil!"
	testTopic   = "saslkit"
	testTimeout = 20 * time.Second
)

// newCluster starts an in-process Kafka broker that requires SASL, with
// one single-partition topic.
func newCluster(t testing.TB) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", plainUser, password),
		kfake.Superuser("SCRAM-SHA-256", scram256, password),
		kfake.Superuser("SCRAM-SHA-512", scram512, password),
		kfake.SeedTopics(1, testTopic),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// counting wraps a sasl.Mechanism and counts its Start calls.
type counting struct {
	sasl.Mechanism
	n atomic.Int64
}

func (c *counting) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	c.n.Add(1)
	return c.Mechanism.Start(ctx)
}

type record struct{ Key, Value string }

// roundTrip produces a record through a Writer (kafka-go's Transport) and
// consumes it through a Reader (kafka-go's Dialer and Conn), both
// authenticating with m, and returns what it consumed.
func roundTrip(ctx context.Context, t *testing.T, addr string, m sasl.Mechanism, want record) record {
	t.Helper()
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        testTopic,
		Transport:    &kafka.Transport{SASL: m},
		BatchTimeout: 10 * time.Millisecond, // not the default 1s
	}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(want.Key), Value: []byte(want.Value)}); err != nil {
		t.Fatalf("write: %v", err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{addr},
		Topic:   testTopic,
		Dialer:  &kafka.Dialer{SASLMechanism: m, Timeout: testTimeout},
		MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	for {
		msg, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(msg.Key) == want.Key {
			return record{string(msg.Key), string(msg.Value)}
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
	addr := c.ListenAddrs()[0]
	for _, tt := range loginTests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			a, err := kafkago.New(tt.m, creds.Client{Authcid: tt.user, Password: tt.password}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := &counting{Mechanism: a}
			if !tt.ok {
				d := &kafka.Dialer{SASLMechanism: m}
				conn, err := d.DialContext(ctx, "tcp", addr)
				if err == nil {
					conn.Close()
				}
				// kfake refuses a login by closing the connection,
				// which kafka-go reports as SASLAuthenticationFailed.
				if !errors.Is(err, kafka.SASLAuthenticationFailed) || ctx.Err() != nil {
					t.Fatalf("DialContext = %v (context: %v), want SASLAuthenticationFailed before the deadline", err, ctx.Err())
				}
				if m.n.Load() != 1 {
					t.Fatalf("%d logins, want 1", m.n.Load())
				}
				return
			}
			want := record{Key: tt.name, Value: "hello from " + tt.name}
			got := roundTrip(ctx, t, addr, m, want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("consumed record (-want +got):\n%s", diff)
			}
			if n := m.n.Load(); n < 2 {
				t.Errorf("%d logins, want one per connection, at least 2", n)
			}
		})
	}
}

// TestConcurrent shares one Mechanism between goroutines, each dialing its
// own connection.
func TestConcurrent(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	m, err := kafkago.New(scram.Mechanism{}, creds.Client{Authcid: scram256, Password: password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &kafka.Dialer{SASLMechanism: m}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := d.DialContext(ctx, "tcp", c.ListenAddrs()[0])
			if err == nil {
				_, err = conn.ReadPartitions(testTopic)
				conn.Close()
			}
			errs <- err
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

// benchLogin measures one connection and login to kfake with mechanism m.
func benchLogin(b *testing.B, m sasl.Mechanism) {
	c := newCluster(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := &kafka.Dialer{SASLMechanism: m}
	addr := c.ListenAddrs()[0]
	b.ReportAllocs()
	for b.Loop() {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}

// BenchmarkLogin compares a SCRAM-SHA-256 login through the adapter with
// kafka-go's own sasl/scram, against kfake.
func BenchmarkLogin(b *testing.B) {
	b.Run("saslkit", func(b *testing.B) {
		m, err := kafkago.New(scram.Mechanism{}, creds.Client{Authcid: scram256, Password: password}, nil)
		if err != nil {
			b.Fatal(err)
		}
		benchLogin(b, m)
	})
	b.Run("saslkit-cache", func(b *testing.B) {
		m, err := kafkago.New(scram.Mechanism{Cache: &scram.KeyCache{}}, creds.Client{Authcid: scram256, Password: password}, nil)
		if err != nil {
			b.Fatal(err)
		}
		benchLogin(b, m)
	})
	b.Run("kafka-go", func(b *testing.B) {
		m, err := kscram.Mechanism(kscram.SHA256, scram256, password)
		if err != nil {
			b.Fatal(err)
		}
		benchLogin(b, m)
	})
}

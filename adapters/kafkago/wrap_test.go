package kafkago_test

import (
	"context"
	"errors"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/saslkit/saslkit/adapters/kafkago"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// TestErrorThroughClient: an error of the session reaches the kafka-go
// caller, where errors.Is finds saslkit's sentinel.
func TestErrorThroughClient(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	// An empty user name cannot be sent.
	m, err := kafkago.New(scram.Mechanism{}, creds.Client{Password: password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := (&kafka.Dialer{SASLMechanism: m}).DialContext(ctx, "tcp", c.ListenAddrs()[0])
	if err == nil {
		conn.Close()
	}
	if !errors.Is(err, mech.ErrInvalidCredentials) {
		t.Fatalf("DialContext = %v, want an error wrapping mech.ErrInvalidCredentials", err)
	}
}

package kafkago_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/saslkit/saslkit/adapters/kafkago"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// A kafka-go connection logs in with saslkit's SCRAM-SHA-512 to an
// in-process Kafka broker that requires SASL, then writes a message and
// reads it back.
func Example() {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "user", "pencil"),
		kfake.SeedTopics(1, "greetings"))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	m, err := kafkago.New(scram.Mechanism{Hash: scram.SHA512},
		creds.Client{Authcid: "user", Password: "pencil"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialer := &kafka.Dialer{SASLMechanism: m}
	conn, err := dialer.DialLeader(ctx, "tcp", cluster.ListenAddrs()[0], "greetings", 0)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.WriteMessages(kafka.Message{Value: []byte("hello, Kafka")}); err != nil {
		log.Fatal(err)
	}
	if _, err := conn.Seek(0, kafka.SeekAbsolute); err != nil {
		log.Fatal(err)
	}
	msg, err := conn.ReadMessage(1 << 20)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Name(), "read:", string(msg.Value))

	// The wrong password: kfake closes the connection.
	bad, err := kafkago.New(scram.Mechanism{Hash: scram.SHA512},
		creds.Client{Authcid: "user", Password: "wrong"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = (&kafka.Dialer{SASLMechanism: bad}).DialContext(ctx, "tcp", cluster.ListenAddrs()[0])
	fmt.Println(errors.Is(err, kafka.SASLAuthenticationFailed))
	// Output:
	// SCRAM-SHA-512 read: hello, Kafka
	// true
}

// Kafka exchanges start with the client's message, so a server-first
// mechanism is refused when the adapter is built.
func ExampleNew_serverFirst() {
	_, err := kafkago.New(mech.CRAMMD5{}, creds.Client{Authcid: "user", Password: "pencil"}, nil)
	fmt.Println(errors.Is(err, kafkago.ErrNoInitialResponse))
	fmt.Println(err)
	// Output:
	// true
	// saslkit/kafkago: Kafka needs an initial response: saslkit/mech: mechanism has no initial response: CRAM-MD5 is server-first
}

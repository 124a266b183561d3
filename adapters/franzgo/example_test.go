package franzgo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/saslkit/saslkit/adapters/franzgo"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// A franz-go client logs in with saslkit's SCRAM-SHA-512 to an in-process
// Kafka cluster that requires SASL, then produces a record and reads it
// back.
func Example() {
	cluster, err := kfake.NewCluster(kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "user", "pencil"),
		kfake.SeedTopics(1, "greetings"))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	m, err := franzgo.New(scram.Mechanism{Hash: scram.SHA512},
		creds.Client{Authcid: "user", Password: "pencil"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.SASL(m),
		kgo.DefaultProduceTopic("greetings"),
		kgo.ConsumeTopics("greetings"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("hello, Kafka")}).FirstErr()
	if err != nil {
		log.Fatal(err)
	}
	fetches := cl.PollRecords(ctx, 1)
	if err := fetches.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Name(), "read:", string(fetches.Records()[0].Value))
	// Output: SCRAM-SHA-512 read: hello, Kafka
}

// Kafka exchanges start with the client's message, so a server-first
// mechanism is refused when the adapter is built.
func ExampleNew_serverFirst() {
	_, err := franzgo.New(mech.CRAMMD5{}, creds.Client{Authcid: "user", Password: "pencil"}, nil)
	fmt.Println(errors.Is(err, franzgo.ErrNoInitialResponse))
	fmt.Println(err)
	// Output:
	// true
	// saslkit/franzgo: Kafka needs a non-empty initial response: saslkit/mech: mechanism has no initial response: CRAM-MD5 is server-first
}

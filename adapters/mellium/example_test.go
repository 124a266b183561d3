package mellium_test

import (
	"context"
	"crypto/tls"
	"log"
	"time"

	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"github.com/saslkit/saslkit/adapters/mellium"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// A client logs in to an XMPP server with saslkit's SCRAM, preferring the
// channel-bound variant, over STARTTLS, and binds a resource. mellium picks
// the first mechanism in this list that the server offers.
func ExampleMechanism() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	origin := jid.MustParse("alice@example.net")
	s, err := xmpp.DialClientSession(ctx, origin,
		xmpp.StartTLS(&tls.Config{ServerName: origin.Domainpart()}),
		xmpp.SASL("", "correct horse battery staple",
			mellium.Mechanism(scram.Mechanism{Hash: scram.SHA256, Plus: true}, nil),
			mellium.Mechanism(scram.Mechanism{Hash: scram.SHA256}, nil),
			mellium.Mechanism(scram.Mechanism{Hash: scram.SHA1, Plus: true}, nil),
			mellium.Mechanism(scram.Mechanism{Hash: scram.SHA1}, nil),
			mellium.Mechanism(mech.Plain{}, nil),
		),
		xmpp.BindResource(),
	)
	if err != nil {
		log.Fatal(err) // a wrong password, or a server that did not prove itself
	}
	defer s.Close()
	log.Println("logged in as", s.LocalAddr())
}

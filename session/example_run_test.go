package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// Run drives a client session against a server session in process: a test
// of a configuration, or a tool that shows an exchange. Its observer sees
// every message; with FinalAsChallenge off, SCRAM's server signature comes
// with the success, as XMPP and LDAP carry it.
func ExampleRun() {
	ctx := context.Background()
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		panic(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}

	for _, password := range []string{"pencil", "wrong"} {
		srv, err := session.NewServer(scram.Mechanism{}, mech.Channel{}, cfg)
		if err != nil {
			panic(err)
		}
		cli := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: "alice", Password: password}, mech.Channel{}, nil)
		p, err := session.Run(ctx, cli, srv, func(m session.Message) {
			// Print each message's first attribute, without the
			// random nonce or the signature.
			text, _, _ := strings.Cut(string(m.Data), ",")
			if strings.HasPrefix(text, "r=") || strings.HasPrefix(text, "v=") {
				text = text[:2] + "…"
			}
			dir := "C:"
			if m.FromServer() {
				dir = "S:"
			}
			fmt.Println(dir, kinds[m.Kind], text)
		})
		var re *session.RunError
		switch {
		case err == nil:
			fmt.Println("authenticated", p.Account())
		case errors.As(err, &re) && !re.Client:
			fmt.Println("server refused:", errors.Is(err, creds.ErrBadCredentials), "client saw:", cli.Failure())
		}
	}
	// Output:
	// C: initial response n
	// S: challenge r=…
	// C: response c=biws
	// S: success v=…
	// authenticated alice
	// C: initial response n
	// S: challenge r=…
	// C: response c=biws
	// S: failure e=invalid-proof
	// server refused: true client saw: saslkit/scram: server error: invalid-proof
}

var kinds = map[session.MessageKind]string{
	session.InitialResponse: "initial response",
	session.Challenge:       "challenge",
	session.Response:        "response",
	session.Success:         "success",
	session.Failure:         "failure",
}

// Client frameworks that ask "is the exchange over?" after each server
// message (franz-go's Challenge, kafka-go's Next, mellium's "more") answer
// with Last. In Kafka the server's last message is SCRAM's server-final,
// which goes to SuccessData, the one place the client checks the server's
// signature.
func ExampleClient_Last() {
	ctx := context.Background()
	keys, err := creds.DeriveSCRAMKeys("SHA-512", "pencil", nil, 4096, false)
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		panic(err)
	}
	m := scram.Mechanism{Hash: scram.SHA512}
	// The broker: final data goes in its last reply, not as a challenge.
	broker, err := session.NewServer(m, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: &store}})
	if err != nil {
		panic(err)
	}
	cli := session.NewClient(m, creds.Client{Authcid: "alice", Password: "pencil"}, mech.Channel{}, nil)

	// What a Kafka client library calls with each server message.
	challenge := func(data []byte) (done bool, resp []byte, err error) {
		if cli.Last() {
			// The outcome: check the server's proof.
			return true, nil, cli.SuccessData(ctx, data)
		}
		resp, err = cli.Next(ctx, data)
		return false, resp, err
	}

	msg, _, err := cli.Start(ctx)
	if err != nil {
		panic(err)
	}
	step, err := broker.StartInitial(ctx, msg)
	for round := 1; ; round++ {
		if err != nil {
			panic(err)
		}
		reply := step.Challenge
		if step.Done {
			reply = step.Final
		}
		done, resp, err := challenge(reply)
		fmt.Printf("round %d: client done %v, err %v\n", round, done, err)
		if done {
			break
		}
		step, err = broker.Next(ctx, resp)
	}
	// Output:
	// round 1: client done false, err <nil>
	// round 2: client done true, err <nil>
}

// The same SCRAM exchange in the two ways protocols carry the server's
// final data: with the success reply (XMPP, LDAP, Kafka), or, with
// Config.FinalAsChallenge, as one more challenge that the client answers
// empty before the success (IMAP, SMTP, POP3).
func ExampleConfig_finalAsChallenge() {
	ctx := context.Background()
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		panic(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		panic(err)
	}
	for _, asChallenge := range []bool{false, true} {
		cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}, FinalAsChallenge: asChallenge}
		srv, err := session.NewServer(scram.Mechanism{}, mech.Channel{}, cfg)
		if err != nil {
			panic(err)
		}
		cli := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: "alice", Password: "pencil"}, mech.Channel{}, nil)
		var seen []string
		_, err = session.Run(ctx, cli, srv, func(m session.Message) {
			s := kinds[m.Kind]
			if m.HasData && m.Kind == session.Success {
				s += " with data"
			}
			if len(m.Data) == 0 && m.Kind == session.Response {
				s += " (empty)"
			}
			seen = append(seen, s)
		})
		fmt.Printf("FinalAsChallenge %v: %s; err %v\n", asChallenge, strings.Join(seen, ", "), err)
	}
	// Output:
	// FinalAsChallenge false: initial response, challenge, response, success with data; err <nil>
	// FinalAsChallenge true: initial response, challenge, response, challenge, response (empty), success; err <nil>
}

package registry_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// The code between the "README" markers appears verbatim in README.md;
// TestReadmeInSync (quickstart_test.go) checks that it does.

// README server begin

// Serve authenticates one client over a line protocol in the style of IMAP
// and SMTP: the server lists its mechanisms, the client sends
// "AUTH <mech> [<base64 initial response>]", then answers each "+ <base64>"
// challenge with a base64 line, or "*" to cancel.
func Serve(ctx context.Context, rw *bufio.ReadWriter, reg *registry.Registry, ch mech.Channel) (*creds.Principal, error) {
	send(rw, "MECHS "+strings.Join(reg.Advertise(ch), " "))
	name, ir, hasIR := strings.Cut(strings.TrimPrefix(readLine(rw), "AUTH "), " ")
	sess, err := reg.NewServer(name, ch)
	if err != nil {
		send(rw, "NO mechanism not available")
		return nil, err
	}
	var step session.Step
	if !hasIR {
		step, err = sess.Start(ctx) // no initial response
	} else if ir == "=" {
		step, err = sess.StartInitial(ctx, []byte{}) // an empty one
	} else if msg, derr := session.Decode([]byte(ir), 0); derr != nil {
		err = derr
	} else {
		step, err = sess.StartInitial(ctx, msg)
	}
	for err == nil && !step.Done {
		send(rw, "+ "+session.Encode(step.Challenge))
		line := readLine(rw)
		if line == "*" {
			err = errors.New("cancelled by the client")
			break
		}
		var resp []byte
		if resp, err = session.Decode([]byte(line), 0); err == nil {
			step, err = sess.Next(ctx, resp)
		}
	}
	if err != nil {
		send(rw, "NO authentication failed")
		return nil, err
	}
	send(rw, "OK")
	return step.Principal, nil // verified and authorized
}

// README server end

// README client begin

// Authenticate runs the client side of Serve's protocol with credentials c.
func Authenticate(ctx context.Context, rw *bufio.ReadWriter, reg *registry.Registry, c creds.Client, ch mech.Channel) error {
	offered := strings.Fields(strings.TrimPrefix(readLine(rw), "MECHS "))
	name, err := reg.Select(offered, c, ch)
	if err != nil {
		return err
	}
	sess, err := reg.NewClient(name, c, ch)
	if err != nil {
		return err
	}
	ir, ok, err := sess.Start(ctx)
	switch {
	case err != nil:
		return err
	case !ok:
		send(rw, "AUTH "+name) // server-first: no initial response
	case len(ir) == 0:
		send(rw, "AUTH "+name+" =") // an empty initial response
	default:
		send(rw, "AUTH "+name+" "+session.Encode(ir))
	}
	for {
		line := readLine(rw)
		switch {
		case line == "OK":
			return sess.Success(ctx)
		case strings.HasPrefix(line, "+"):
			challenge, err := session.Decode([]byte(strings.TrimSpace(line[1:])), 0)
			var resp []byte
			if err == nil {
				resp, err = sess.Next(ctx, challenge)
			}
			if err != nil {
				send(rw, "*")
				return err
			}
			send(rw, session.Encode(resp))
		default:
			if f := sess.Failure(); f != nil {
				return f // the server's reason, e.g. a *mech.TokenError
			}
			return fmt.Errorf("server refused: %s", line)
		}
	}
}

// README client end

// README setup begin

// NewServerRegistry returns the server's registry: SCRAM-SHA-256, PLAIN
// and LOGIN, all checked through one Verifier against a store that holds
// one account, with an Argon2id hash of its password and SCRAM-SHA-256
// keys.
func NewServerRegistry() (*registry.Registry, error) {
	pw, err := creds.HashPassword("pencil", nil) // Argon2id
	if err != nil {
		return nil, err
	}
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		return nil, err
	}
	var store creds.MemoryStore
	err = store.Add(creds.Account{Name: "user", Password: pw, SCRAM: []creds.SCRAMKeys{keys}})
	if err != nil {
		return nil, err
	}
	return registry.Named(&registry.Config{
		Session: session.Config{Verifier: &creds.Verifier{Store: &store}, FinalAsChallenge: true},
	}, "SCRAM-SHA-256", "PLAIN", "LOGIN")
}

// README setup end

// send writes one CRLF-terminated line and flushes it.
func send(rw *bufio.ReadWriter, line string) {
	rw.WriteString(line + "\r\n")
	rw.Flush()
}

// readLine reads one line without its line ending; "" on error.
func readLine(rw *bufio.ReadWriter) string {
	line, _ := rw.ReadString('\n')
	return strings.TrimRight(line, "\r\n")
}

// The README's quick start: a server and a client registry run Serve and
// Authenticate against each other over an in-memory connection. The client
// picks SCRAM-SHA-256, the best mechanism both have, and the server names
// the account it verified.
func Example() {
	ctx := context.Background()
	server, err := NewServerRegistry()
	if err != nil {
		panic(err)
	}
	client, err := registry.Named(nil, "SCRAM-SHA-256", "PLAIN")
	if err != nil {
		panic(err)
	}
	tls := mech.Channel{Secure: true}
	for _, password := range []string{"pencil", "wrong"} {
		sc, cc := net.Pipe()
		done := make(chan error, 1)
		go func() {
			defer sc.Close()
			p, err := Serve(ctx, bufio.NewReadWriter(bufio.NewReader(sc), bufio.NewWriter(sc)), server, tls)
			if err == nil {
				fmt.Println("server: authenticated", p.Mechanism(), p.Account())
			}
			done <- err
		}()
		cerr := Authenticate(ctx, bufio.NewReadWriter(bufio.NewReader(cc), bufio.NewWriter(cc)), client,
			creds.Client{Authcid: "user", Password: password}, tls)
		cc.Close()
		serr := <-done
		fmt.Println("client:", cerr)
		fmt.Println("server wrong password:", errors.Is(serr, creds.ErrBadCredentials))
	}
	// Output:
	// server: authenticated SCRAM-SHA-256 user
	// client: <nil>
	// server wrong password: false
	// client: saslkit/scram: server error: invalid-proof
	// server wrong password: true
}

package quickstart_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// The code between the "README" markers appears verbatim in README.md;
// TestReadmeInSync checks that it does.

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

// pipe runs Serve and Authenticate against each other over net.Pipe and
// returns what each returned.
func pipe(t *testing.T, server, client *registry.Registry, c creds.Client, ch mech.Channel) (*creds.Principal, error, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc, cc := net.Pipe()
	defer cc.Close()
	type result struct {
		p   *creds.Principal
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer sc.Close()
		p, err := Serve(ctx, bufio.NewReadWriter(bufio.NewReader(sc), bufio.NewWriter(sc)), server, ch)
		done <- result{p, err}
	}()
	cerr := Authenticate(ctx, bufio.NewReadWriter(bufio.NewReader(cc), bufio.NewWriter(cc)), client, c, ch)
	cc.Close() // unblocks a server still waiting for a line
	r := <-done
	return r.p, r.err, cerr
}

// serverRegistry is NewServerRegistry's, made once: its Argon2id hash
// takes a moment.
var serverRegistry = sync.OnceValues(NewServerRegistry)

func TestQuickstart(t *testing.T) {
	server, err := serverRegistry()
	if err != nil {
		t.Fatal(err)
	}
	tls := mech.Channel{Secure: true}
	tests := []struct {
		name       string
		client     []string // client registry, in preference order
		creds      creds.Client
		ch         mech.Channel
		wantMech   string
		wantServer error // nil: success
		wantClient error
	}{
		{
			name:     "PLAIN",
			client:   []string{"PLAIN", "LOGIN"},
			creds:    creds.Client{Authcid: "user", Password: "pencil"},
			ch:       tls,
			wantMech: "PLAIN",
		},
		{
			name:     "LOGIN",
			client:   []string{"LOGIN"},
			creds:    creds.Client{Authcid: "user", Password: "pencil"},
			ch:       tls,
			wantMech: "LOGIN",
		},
		{
			name:     "SCRAM-SHA-256",
			client:   []string{"SCRAM-SHA-256", "PLAIN"},
			creds:    creds.Client{Authcid: "user", Password: "pencil"},
			ch:       tls,
			wantMech: "SCRAM-SHA-256",
		},
		{
			// The one mechanism without a secret in the clear is
			// offered without TLS.
			name:     "SCRAM-SHA-256 without TLS",
			client:   []string{"PLAIN", "SCRAM-SHA-256"},
			creds:    creds.Client{Authcid: "user", Password: "pencil"},
			ch:       mech.Channel{},
			wantMech: "SCRAM-SHA-256",
		},
		{
			name:     "PLAIN SASLprep",
			client:   []string{"PLAIN"},
			creds:    creds.Client{Authcid: "user", Password: "pen\u00ADcil"},
			ch:       tls,
			wantMech: "PLAIN",
		},
		{
			name:     "PLAIN another spelling of the user",
			client:   []string{"PLAIN"},
			creds:    creds.Client{Authcid: "\uff55\uff53\uff45\uff52", Password: "pencil"}, // ｕｓｅｒ
			ch:       tls,
			wantMech: "PLAIN",
		},
		{
			name:       "wrong password",
			client:     []string{"PLAIN"},
			creds:      creds.Client{Authcid: "user", Password: "wrong"},
			ch:         tls,
			wantServer: creds.ErrBadCredentials,
			wantClient: errRefused,
		},
		{
			name:       "SCRAM-SHA-256 wrong password",
			client:     []string{"SCRAM-SHA-256"},
			creds:      creds.Client{Authcid: "user", Password: "wrong"},
			ch:         tls,
			wantServer: creds.ErrBadCredentials,
			wantClient: mech.ErrAuthFailed, // the server's e=invalid-proof
		},
		{
			name:       "unknown user",
			client:     []string{"LOGIN"},
			creds:      creds.Client{Authcid: "nobody", Password: "pencil"},
			ch:         tls,
			wantServer: creds.ErrBadCredentials,
			wantClient: errRefused,
		},
		{
			name:       "other authzid",
			client:     []string{"PLAIN"},
			creds:      creds.Client{Authcid: "user", Password: "pencil", Authzid: "admin"},
			ch:         tls,
			wantServer: creds.ErrUnauthorized,
			wantClient: errRefused,
		},
		{
			// Without TLS the server advertises nothing the client can
			// use: PLAIN and LOGIN send the password in the clear.
			name:       "no TLS",
			client:     []string{"PLAIN", "LOGIN"},
			creds:      creds.Client{Authcid: "user", Password: "pencil"},
			ch:         mech.Channel{},
			wantServer: registry.ErrUnknown,
			wantClient: registry.ErrNoMechanism,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := registry.Named(nil, tt.client...)
			if err != nil {
				t.Fatal(err)
			}
			got, serr, cerr := pipe(t, server, client, tt.creds, tt.ch)
			if tt.wantServer == nil && serr != nil || tt.wantServer != nil && !errors.Is(serr, tt.wantServer) {
				t.Errorf("Serve error = %v, want %v", serr, tt.wantServer)
			}
			if tt.wantClient == nil && cerr != nil || tt.wantClient != nil && !errorIsOrRefused(cerr, tt.wantClient) {
				t.Errorf("Authenticate error = %v, want %v", cerr, tt.wantClient)
			}
			if tt.wantServer != nil {
				if got != nil {
					t.Errorf("Serve failed with a principal %v", got)
				}
				return
			}
			if got == nil {
				t.Fatal("Serve returned no principal")
			}
			if got.Mechanism() != tt.wantMech || got.Account() != "user" || got.Effective() != "user" || got.Authzid() != "" {
				t.Errorf("principal %v, want %s for account user", got, tt.wantMech)
			}
		})
	}
}

// TestEveryREADMERegistryRefusesWrongPasswords runs Serve with each
// server registry the README shows. NewServerRegistry refuses a wrong
// password; registry.Defaults, the README's client registry, has no
// account store, so it advertises nothing a server could run, its
// NewServer fails closed for every password, the right one too, and Serve
// never answers OK.
func TestEveryREADMERegistryRefusesWrongPasswords(t *testing.T) {
	quick, err := serverRegistry()
	if err != nil {
		t.Fatal(err)
	}
	tls := mech.Channel{Secure: true}
	for _, tc := range []struct {
		name       string
		server     *registry.Registry
		password   string
		wantServer error
	}{
		{"NewServerRegistry", quick, "wrong", creds.ErrBadCredentials},
		// Nothing is advertised, so the client names no mechanism.
		{"Defaults", registry.Defaults(), "wrong", registry.ErrUnknown},
		{"Defaults right password", registry.Defaults(), "pencil", registry.ErrUnknown},
	} {
		for _, m := range []string{"PLAIN", "LOGIN"} {
			t.Run(tc.name+"/"+m, func(t *testing.T) {
				client, err := registry.Named(nil, m)
				if err != nil {
					t.Fatal(err)
				}
				got, serr, cerr := pipe(t, tc.server, client, creds.Client{Authcid: "user", Password: tc.password}, tls)
				if got != nil || !errors.Is(serr, tc.wantServer) {
					t.Errorf("Serve = %v, %v; want an error wrapping %v", got, serr, tc.wantServer)
				}
				if tc.wantServer == creds.ErrBadCredentials && !errorIsOrRefused(cerr, errRefused) {
					t.Errorf("Authenticate = %v; want the server's refusal", cerr)
				}
				if cerr == nil {
					t.Errorf("Authenticate succeeded")
				}
			})
		}
	}
	// A client that ignores the list and names PLAIN anyway is refused
	// when the session is built.
	if got := registry.Defaults().Advertise(tls); len(got) != 0 {
		t.Errorf("Defaults().Advertise = %v, want nothing", got)
	}
	for _, m := range []string{"PLAIN", "LOGIN"} {
		if _, err := registry.Defaults().NewServer(m, tls); !errors.Is(err, creds.ErrMisconfigured) {
			t.Errorf("Defaults().NewServer(%s) = %v, want ErrMisconfigured", m, err)
		}
	}
}

// errRefused stands for the client's "server refused" error.
var errRefused = errors.New("server refused")

func errorIsOrRefused(err, want error) bool {
	if want == errRefused {
		return err != nil && strings.HasPrefix(err.Error(), "server refused")
	}
	return errors.Is(err, want)
}

// TestReadmeInSync checks that README.md shows the code above verbatim.
func TestReadmeInSync(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("quickstart_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"server", "client", "setup"} {
		_, rest, ok := strings.Cut(string(src), "// README "+part+" begin\n")
		if !ok {
			t.Fatalf("no %s begin marker", part)
		}
		snippet, _, ok := strings.Cut(rest, "// README "+part+" end\n")
		if !ok {
			t.Fatalf("no %s end marker", part)
		}
		snippet = strings.TrimSpace(snippet)
		if !strings.Contains(string(readme), snippet) {
			t.Errorf("README.md does not contain the %s quick start as in quickstart_test.go:\n%s", part, snippet)
		}
	}
}

package registry_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
)

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
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_quickstart_test.go")
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
			t.Errorf("README.md does not contain the %s quick start as in example_quickstart_test.go:\n%s", part, snippet)
		}
	}
}

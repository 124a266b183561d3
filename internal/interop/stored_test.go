package interop

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// runLocal runs saslkit's client with password against saslkit's server
// holding keys for the test user, in process, and returns the outcome.
func runLocal(t *testing.T, h scram.Hash, keys creds.SCRAMKeys, password string) error {
	t.Helper()
	ctx := context.Background()
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: testUser, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	m := scram.Mechanism{Hash: h}
	c := session.NewClient(m, creds.Client{Authcid: testUser, Password: password}, mech.Channel{}, nil)
	s, err := session.NewServer(m, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: &store}})
	if err != nil {
		t.Fatal(err)
	}
	ir, _, err := c.Start(ctx)
	if err != nil {
		return err
	}
	step, err := s.StartInitial(ctx, ir)
	for err == nil && !step.Done {
		var resp []byte
		if resp, err = c.Next(ctx, step.Challenge); err != nil {
			return err
		}
		step, err = s.Next(ctx, resp)
	}
	if err != nil {
		return err
	}
	if step.Principal.Account() != testUser {
		t.Fatalf("step %+v, want done for %q", step, testUser)
	}
	return c.SuccessData(ctx, step.Final)
}

// checkStored parses a stored-keys string a peer printed, checks that it
// names hash h and holds the keys saslkit derives for the test password
// with the same salt and iteration count, that String gives the string
// back, and that the keys let the test user in and keep a wrong password
// out.
func checkStored(t *testing.T, out string, h scram.Hash) creds.SCRAMKeys {
	t.Helper()
	stored := strings.TrimSpace(out)
	keys, err := creds.ParseSCRAMKeys(stored)
	if err != nil {
		t.Fatalf("ParseSCRAMKeys(%q): %v", stored, err)
	}
	if keys.Hash != h.Name() {
		t.Fatalf("ParseSCRAMKeys(%q) hash %s, want %s", stored, keys.Hash, h.Name())
	}
	want, err := creds.DeriveSCRAMKeys(h.Name(), testPassword, keys.Salt, keys.Iterations, false)
	if err != nil {
		t.Fatalf("DeriveSCRAMKeys: %v", err)
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys of %q differ from DeriveSCRAMKeys' (-want +got):\n%s", stored, diff)
	}
	if got := keys.Dovecot(); got != stored {
		t.Errorf("String = %q, want the peer's %q", got, stored)
	}
	if err := runLocal(t, h, keys, testPassword); err != nil {
		t.Errorf("authenticating with the stored keys: %v", err)
	}
	if err := runLocal(t, h, keys, "wrong"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("wrong password against the stored keys: %v, want ErrBadCredentials", err)
	}
	return keys
}

func itoa(n int) string { return strconv.Itoa(n) }

func b64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestGsaslMkpasswd checks the keys `gsasl --mkpasswd` prints, with the
// salts of the RFC 5802 and RFC 7677 examples (whose StoredKey and
// ServerKey are known) and with a random salt.
func TestGsaslMkpasswd(t *testing.T) {
	gsasl := NeedTools(t, "gsasl")[0]
	cases := []struct {
		name       string
		hash       scram.Hash
		salt       []byte
		iterations int
		stored     string // the RFC's StoredKey, if known
		server     string // the RFC's ServerKey, if known
	}{
		{"SCRAM-SHA-1/RFC5802", scram.SHA1, b64("QSXCR+Q6sek8bf92"), 4096,
			"6dlGYMOdZcOPutkcNY8U2g7vK9Y=", "D+CSWLOshSulAsxiupA+qs2/fTE="},
		{"SCRAM-SHA-256/RFC7677", scram.SHA256, b64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096,
			"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=", "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="},
		{"SCRAM-SHA-256/random-salt", scram.SHA256, randomBytes(t, 16), 4096, "", ""},
		{"SCRAM-SHA-256/10000", scram.SHA256, randomBytes(t, 24), 10000, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := Start(t, nil, gsasl, "--mkpasswd", "--quiet", "-m", tc.hash.Mechanism(false),
				"-p", testPassword, "--iteration-count="+itoa(tc.iterations),
				"--salt="+base64.StdEncoding.EncodeToString(tc.salt))
			wantExit(t, p, 0)
			keys := checkStored(t, p.Stdout(), tc.hash)
			if keys.Iterations != tc.iterations {
				t.Errorf("iterations %d, want %d", keys.Iterations, tc.iterations)
			}
			if diff := cmp.Diff(tc.salt, keys.Salt); diff != "" {
				t.Errorf("salt (-want +got):\n%s", diff)
			}
			if tc.stored != "" {
				if got := base64.StdEncoding.EncodeToString(keys.StoredKey); got != tc.stored {
					t.Errorf("StoredKey %s, want the RFC's %s", got, tc.stored)
				}
				if got := base64.StdEncoding.EncodeToString(keys.ServerKey); got != tc.server {
					t.Errorf("ServerKey %s, want the RFC's %s", got, tc.server)
				}
			}
		})
	}
}

// TestDoveadmPw checks the keys `doveadm pw -s SCRAM-…` prints (Dovecot
// picks the salt and the iteration count), and that Dovecot verifies the
// keys saslkit derives (`doveadm pw -t`).
func TestDoveadmPw(t *testing.T) {
	doveadm := NeedTools(t, "doveadm")[0]
	for _, h := range []scram.Hash{scram.SHA1, scram.SHA256} {
		t.Run(h.Mechanism(false)+"/parse", func(t *testing.T) {
			t.Parallel()
			// -c /dev/null: pw needs no configuration, and the system's
			// may be unreadable or absent.
			p := Start(t, nil, doveadm, "-c", "/dev/null", "pw", "-s", h.Mechanism(false), "-p", testPassword)
			wantExit(t, p, 0)
			out := p.Stdout()
			if !strings.HasPrefix(out, "{"+h.Mechanism(false)+"}") {
				t.Errorf("doveadm printed %q, want a {%s} prefix", out, h.Mechanism(false))
			}
			checkStored(t, out, h)
		})
		for _, tc := range []struct {
			name     string
			password string
			want     int
		}{
			{"verify", testPassword, 0},
			{"verify-wrong-password", "wrong", -1},
		} {
			t.Run(h.Mechanism(false)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				keys, err := creds.DeriveSCRAMKeys(h.Name(), testPassword, nil, 4096, false)
				if err != nil {
					t.Fatal(err)
				}
				p := Start(t, nil, doveadm, "-c", "/dev/null", "pw", "-t", keys.Dovecot(), "-p", tc.password)
				wantExit(t, p, tc.want)
				if tc.want == 0 && !strings.Contains(p.Stdout(), "(verified)") {
					t.Errorf("doveadm pw -t printed %q, want (verified)", p.Stdout())
				}
			})
		}
	}
}

// TestGsaslMockShape builds a store from what `gsasl --mkpasswd` prints
// with its defaults (12-octet salts, 65536 iterations) and runs `gsasl
// --client` against it as an unknown user and as a known user with a
// wrong password. Both must see the store's salt length and iteration
// count in server-first, and end with e=invalid-proof: the mock keys of
// an unknown user take the store's shape, not a fixed one.
func TestGsaslMockShape(t *testing.T) {
	gsasl := NeedTools(t, "gsasl")[0]
	var store creds.MemoryStore
	var shape []string
	for _, u := range []string{testUser, "alice", "bob"} {
		p := Start(t, nil, gsasl, "--mkpasswd", "--quiet", "-m", "SCRAM-SHA-256", "-p", testPassword)
		wantExit(t, p, 0)
		k, err := creds.ParseSCRAMKeys(strings.TrimSpace(p.Stdout()))
		if err != nil {
			t.Fatalf("ParseSCRAMKeys(%q): %v", p.Stdout(), err)
		}
		shape = []string{itoa(len(k.Salt)), itoa(k.Iterations)}
		if err := store.Add(creds.Account{Name: u, SCRAM: []creds.SCRAMKeys{k}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("gsasl --mkpasswd: %s-octet salts, %s iterations", shape[0], shape[1])
	v := &creds.Verifier{Store: &store}
	for _, tc := range []struct{ name, user, password string }{
		{"unknown-user", "nobody", testPassword},
		{"wrong-password", testUser, "wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := session.NewServer(scram.Mechanism{Hash: scram.SHA256}, mech.Channel{}, &session.Config{Verifier: v})
			if err != nil {
				t.Fatal(err)
			}
			p := Start(t, nil, gsasl, "--client", "-d", "--quiet", "-m", "SCRAM-SHA-256", "-a", tc.user, "-p", tc.password, "--no-cb")
			ctx := p.Context()
			if got := readLine(t, p); got != "SCRAM-SHA-256" {
				t.Fatalf("gsasl announced %q", got)
			}
			step, err := srv.StartInitial(ctx, readB64(t, p))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range strings.Split(string(step.Challenge), ",") {
				switch {
				case strings.HasPrefix(a, "s="):
					got = append(got, itoa(len(b64(a[2:]))))
				case strings.HasPrefix(a, "i="):
					got = append(got, a[2:])
				}
			}
			if diff := cmp.Diff(shape, got); diff != "" {
				t.Errorf("server-first %q: salt length and iterations (-store +got):\n%s", step.Challenge, diff)
			}
			writeLine(t, p, session.Encode(step.Challenge))
			_, err = srv.Next(ctx, readB64(t, p))
			var fe *mech.FailureError
			if !errors.As(err, &fe) || string(fe.Data) != "e=invalid-proof" || !errors.Is(err, creds.ErrBadCredentials) {
				t.Fatalf("client-final: %v, want e=invalid-proof wrapping ErrBadCredentials", err)
			}
			writeLine(t, p, session.Encode(fe.Data))
			wantExit(t, p, -1)
		})
	}
}

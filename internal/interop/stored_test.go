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
func runLocal(t *testing.T, h scram.Hash, keys scram.Keys, password string) error {
	t.Helper()
	ctx := context.Background()
	var store scram.MemoryStore
	if err := store.SetKeys(ctx, h, testUser, keys); err != nil {
		t.Fatalf("SetKeys: %v", err)
	}
	m := scram.Mechanism{Hash: h, Store: &store}
	c := session.NewClient(m, creds.Client{Authcid: testUser, Password: password}, mech.Channel{}, nil)
	s := session.NewServer(m, mech.Channel{}, nil)
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
	if !step.Verified || step.Creds.Authcid() != testUser {
		t.Fatalf("step %+v, want verified for %q", step, testUser)
	}
	return c.SuccessData(ctx, step.Final)
}

// checkStored parses a stored-keys string a peer printed, checks that it
// names hash h and holds the keys saslkit derives for the test password
// with the same salt and iteration count, that Format gives the string
// back, and that the keys let the test user in and keep a wrong password
// out.
func checkStored(t *testing.T, out string, h scram.Hash) scram.Keys {
	t.Helper()
	stored := strings.TrimSpace(out)
	gotHash, keys, err := scram.ParseStored(stored)
	if err != nil {
		t.Fatalf("ParseStored(%q): %v", stored, err)
	}
	if gotHash.Name() != h.Name() {
		t.Fatalf("ParseStored(%q) hash %s, want %s", stored, gotHash.Name(), h.Name())
	}
	want, err := scram.Derive(h, testPassword, keys.Salt, keys.Iterations, false)
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys of %q differ from Derive's (-want +got):\n%s", stored, diff)
	}
	if got := keys.Format(h); got != stored {
		t.Errorf("Format = %q, want the peer's %q", got, stored)
	}
	if err := runLocal(t, h, keys, testPassword); err != nil {
		t.Errorf("authenticating with the stored keys: %v", err)
	}
	if err := runLocal(t, h, keys, "wrong"); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("wrong password against the stored keys: %v, want ErrAuthFailed", err)
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
				keys, err := scram.Derive(h, testPassword, nil, 4096, false)
				if err != nil {
					t.Fatal(err)
				}
				p := Start(t, nil, doveadm, "-c", "/dev/null", "pw", "-t", keys.Format(h), "-p", tc.password)
				wantExit(t, p, tc.want)
				if tc.want == 0 && !strings.Contains(p.Stdout(), "(verified)") {
					t.Errorf("doveadm pw -t printed %q, want (verified)", p.Stdout())
				}
			})
		}
	}
}

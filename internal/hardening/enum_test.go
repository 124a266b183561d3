package hardening

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// failure is what an attacker sees of a failed exchange: the number of
// steps and of challenges, the error, SCRAM's e= value and the shape of
// the salt and iteration count the server offered.
type failure struct {
	steps    int
	messages int
	err      string
	bad      bool // the error wraps creds.ErrBadCredentials
	refused  bool // the error is a *mech.TokenError
	evalue   string
	saltLen  int // octets of SCRAM's s=, or -1
	iter     string
}

// attempt runs one exchange of name as user u with secret sec (password or
// token) and returns what the server showed.
func attempt(t testing.TB, s *enumStore, name, u, sec string) failure {
	t.Helper()
	srv, err := s.newServer(name)
	if err != nil {
		t.Fatal(err)
	}
	cli := s.newClient(name, u, sec)
	f := failure{saltLen: -1}
	var step session.Step
	ir, ok, err := cli.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		step, err = srv.StartInitial(ctx, ir)
	} else {
		step, err = srv.Start(ctx)
	}
	f.steps++
	for err == nil && !step.Done {
		f.messages++
		c := step.Challenge
		if bytes.HasPrefix(c, []byte("e=")) {
			f.evalue = string(c)
		}
		if bytes.HasPrefix(c, []byte("r=")) {
			f.saltLen, f.iter = serverFirstShape(t, c)
		}
		resp, cerr := cli.Next(ctx, c)
		if cerr != nil {
			t.Fatalf("%s: client: %v", name, cerr)
		}
		step, err = srv.Next(ctx, resp)
		f.steps++
	}
	if err == nil {
		t.Fatalf("%s as %s: succeeded", name, u)
	}
	f.err = err.Error()
	f.bad = errors.Is(err, creds.ErrBadCredentials)
	var te *mech.TokenError
	f.refused = errors.As(err, &te)
	return f
}

// serverFirstShape returns the salt length and the iteration count of a
// SCRAM server-first message.
func serverFirstShape(t testing.TB, c []byte) (int, string) {
	t.Helper()
	var salt []byte
	var iter string
	for _, a := range strings.Split(string(c), ",") {
		switch {
		case strings.HasPrefix(a, "s="):
			var err error
			if salt, err = base64.StdEncoding.DecodeString(a[2:]); err != nil {
				t.Fatalf("server-first %q: %v", c, err)
			}
		case strings.HasPrefix(a, "i="):
			iter = a[2:]
		}
	}
	return len(salt), iter
}

// TestEnumeration: for every mechanism that checks a secret and every
// store, a known user with a wrong secret and an unknown user fail in the
// same way: the same error (creds.ErrBadCredentials for the password
// mechanisms, SCRAM's e=invalid-proof), the same number of steps and
// challenges and, for SCRAM, a salt of the store's length and its
// iteration count. In a mixed store, a known user of each kind is
// compared. A mechanism that cannot run on a store is refused when its
// server is built, with creds.ErrMisconfigured.
func TestEnumeration(t *testing.T) {
	pairs := 0
	for _, spec := range storeSpecs {
		s := buildStore(t, spec)
		for _, name := range secretMechs() {
			t.Run(spec.name+"/"+name, func(t *testing.T) {
				if !spec.canRun(name) {
					_, err := s.newServer(name)
					if !errors.Is(err, creds.ErrMisconfigured) {
						t.Fatalf("session.NewServer: %v, want ErrMisconfigured", err)
					}
					_, err = registry.Named(&registry.Config{Session: *s.cfg}, name)
					if !errors.Is(err, creds.ErrMisconfigured) {
						t.Fatalf("registry.Named: %v, want ErrMisconfigured", err)
					}
					return
				}
				unknown := attempt(t, s, name, "nobody", "wrong-secret")
				for _, k := range spec.kinds {
					wrong := attempt(t, s, name, spec.known(k), "wrong-secret")
					pairs++
					if wrong != unknown {
						t.Errorf("%s account: wrong secret %+v, unknown user %+v", k.name, wrong, unknown)
					}
				}
				isSCRAM := strings.HasPrefix(name, "SCRAM-")
				switch {
				case isSCRAM:
					h, _, _ := scram.HashByName(name)
					sh, _ := spec.shape(h.Name())
					if unknown.evalue != "e=invalid-proof" || !unknown.bad {
						t.Errorf("unknown user: e= value %q, error %q; want e=invalid-proof wrapping ErrBadCredentials", unknown.evalue, unknown.err)
					}
					if unknown.saltLen != sh.salt || unknown.iter != itoa(sh.iter) {
						t.Errorf("unknown user: salt of %d octets, i=%s; the store's keys have %d, %d", unknown.saltLen, unknown.iter, sh.salt, sh.iter)
					}
				case name == "XOAUTH2" || name == "OAUTHBEARER":
					if unknown.messages != 1 || !unknown.refused {
						t.Errorf("unknown user: %+v, want one JSON error challenge and a *mech.TokenError", unknown)
					}
				default:
					if !unknown.bad {
						t.Errorf("unknown user: %q does not wrap ErrBadCredentials", unknown.err)
					}
				}
			})
		}
	}
	t.Logf("compared %d wrong-secret exchanges with unknown users", pairs)
}

// TestNoSecretsInErrors runs every failing path of the corruption test,
// and every configuration error a server can meet when it is built, and
// checks that no error text holds the password, the token, the SCRAM keys,
// the stored hash, the Verifier's secret, the proof, or the raw client
// message.
func TestNoSecretsInErrors(t *testing.T) {
	t.Run("corruption", func(t *testing.T) {
		w := newWorld(t, true)
		secrets := append([]string{password, token}, keySecrets(w.keys)...)
		secrets = append(secrets, encodings(w.verifier.Secret)...)
		checked := 0
		for _, name := range registry.BuiltinNames() {
			var toSrv [][]byte
			w.exchange(t, name, func(_ int, m []byte) []byte { toSrv = append(toSrv, bytes.Clone(m)); return m }, noCorruption)
			for step, msg := range toSrv {
				for _, bad := range corruptions(msg, 4096) {
					o := w.exchange(t, name, func(i int, m []byte) []byte {
						if i == step {
							return bad
						}
						return m
					}, noCorruption)
					err := firstErr(o)
					if err == nil {
						continue
					}
					checked++
					text := errText(err)
					checkNoSecret(t, name, text, secrets)
					for _, raw := range [][]byte{msg, bad} {
						if len(raw) >= 8 && strings.Contains(text, string(raw)) {
							t.Errorf("%s: error %q quotes the client message", name, text)
						}
						// The proof, as sent.
						if i := bytes.Index(raw, []byte(",p=")); i >= 0 && len(raw)-i-3 >= 8 && strings.Contains(text, string(raw[i+3:])) {
							t.Errorf("%s: error %q holds the proof", name, text)
						}
					}
				}
			}
		}
		t.Logf("checked %d error texts", checked)
		if checked < 1000 {
			t.Errorf("only %d failing paths checked", checked)
		}
	})
	t.Run("configuration", func(t *testing.T) {
		checked := 0
		check := func(what string, err error, secrets []string) {
			t.Helper()
			if err == nil {
				t.Errorf("%s: no error", what)
				return
			}
			checked++
			checkNoSecret(t, what, errText(err), secrets)
		}
		testConfigErrors(t, check)
		t.Logf("checked %d error texts", checked)
	})
}

// testConfigErrors makes every error of building a server, of a store and
// of choosing a mechanism, and hands each to check with the secrets it
// must not hold.
func testConfigErrors(t *testing.T, check func(what string, err error, secrets []string)) {
	// A store whose accounts hold a hashed password and nothing else:
	// CRAM-MD5 and SCRAM cannot run on it.
	hashed, err := creds.HashPassword(password, hash.PBKDF2{Rounds: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var hashedStore creds.MemoryStore
	if err := hashedStore.Add(creds.Account{Name: user, Password: hashed}); err != nil {
		t.Fatal(err)
	}
	keys, err := creds.DeriveSCRAMKeys("SHA-256", password, nil, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	var keyStore creds.MemoryStore
	if err := keyStore.Add(creds.Account{Name: user, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	secret := []byte("a verifier secret of 32 octets!!")
	secrets := append([]string{password, token, hashed}, keySecrets([]creds.SCRAMKeys{keys})...)
	secrets = append(secrets, encodings(secret)...)

	configs := []struct {
		name string
		cfg  *session.Config
	}{
		{"nil config", nil},
		{"no verifier", &session.Config{Tokens: tokenValidator()}},
		{"verifier without store", &session.Config{Verifier: &creds.Verifier{Secret: secret}}},
		{"hashed store, no tokens", &session.Config{Verifier: &creds.Verifier{Store: &hashedStore, Secret: secret}}},
		{"SHA-256 keys only", &session.Config{Verifier: &creds.Verifier{Store: &keyStore, Secret: secret}, Tokens: tokenValidator()}},
	}
	for _, c := range configs {
		for _, name := range registry.BuiltinNames() {
			m, _ := registry.Builtin(name)
			sm := m.(mech.Server)
			_, err := session.NewServer(sm, channel(name), c.cfg)
			if err == nil {
				continue
			}
			if !errors.Is(err, creds.ErrMisconfigured) {
				t.Errorf("%s, %s: session.NewServer: %v, want ErrMisconfigured", c.name, name, err)
			}
			check(c.name+", session.NewServer "+name, err, secrets)
			if c.cfg != nil {
				_, err = registry.Named(&registry.Config{Session: *c.cfg}, name)
				check(c.name+", registry.Named "+name, err, secrets)
			}
		}
	}
	// A client registry's NewServer refuses what checks a secret.
	client, err := registry.Named(nil, secretMechs()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range secretMechs() {
		_, err := client.NewServer(name, channel(name))
		check("client registry, NewServer "+name, err, secrets)
	}
	// A server registry's NewServer on a channel the mechanism cannot
	// run on.
	full := newWorld(t, false).reg
	for _, name := range registry.BuiltinNames() {
		if _, err := full.NewServer(name, mech.Channel{}); err != nil {
			check("NewServer "+name+" without TLS", err, secrets)
		}
	}
	// Select, for a client that holds a password and a token but whose
	// channel suits none of what the server advertised.
	c := creds.Client{Authcid: user, Password: password, Token: token}
	for _, adv := range [][]string{
		{"PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256-PLUS", "EXTERNAL"},
		{"ANONYMOUS", "GSSAPI"},
		nil,
	} {
		_, err := full.Select(adv, c, mech.Channel{})
		var se *registry.SelectError
		if !errors.As(err, &se) || !errors.Is(err, registry.ErrNoMechanism) {
			t.Errorf("Select(%q): %v, want a *registry.SelectError", adv, err)
		}
		check(fmt.Sprintf("Select(%q)", adv), err, secrets)
	}
	// Accounts a store refuses: each holds the password or its hash.
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "IX", Password: hashed}); err != nil {
		t.Fatal(err)
	}
	bad := keys
	bad.Salt = nil
	for _, a := range []creds.Account{
		{Name: "", Password: "{PLAIN}" + password},
		{Name: "a\x07", Password: "{PLAIN}" + password},
		{Name: "u1", Password: "{PLAIN}" + password + "\x07"},
		{Name: "u2", Password: "$2y$04$" + password + password},
		{Name: "u3", Password: "$argon2id$v=19$m=bad$" + password + "$" + password},
		{Name: "u4", Password: "{NOSUCH}" + password},
		{Name: "u5", Password: hashed[:len(hashed)-3]},
		{Name: "u6", SCRAM: []creds.SCRAMKeys{bad}},
		{Name: "u7", SCRAM: []creds.SCRAMKeys{keys, keys}},
		{Name: "\u2168", Password: hashed}, // "Ⅸ" collides with "IX"
	} {
		err := store.Add(a)
		if !errors.Is(err, creds.ErrMisconfigured) {
			t.Errorf("Add(%q): %v, want ErrMisconfigured", a.Name, err)
		}
		check(fmt.Sprintf("Add(%q)", a.Name), err, append(secrets, a.Password, hashed[:len(hashed)-3]))
	}
	// The Verifier's own errors.
	v := &creds.Verifier{Secret: secret}
	_, err = v.CheckPassword(ctx, user, password)
	check("CheckPassword without a store", err, secrets)
	_, err = v.LookupSCRAM(ctx, user, "SHA-256")
	check("LookupSCRAM without a store", err, secrets)
	_, err = (&creds.Verifier{Store: &keyStore, Secret: secret}).LookupSCRAM(ctx, "nobody", "MD5")
	check("LookupSCRAM of an unknown hash", err, secrets)
	// A validator that accepts a token without naming its subject.
	lax := &session.Config{Tokens: mech.TokenValidatorFunc(func(context.Context, *mech.TokenRequest) error { return nil })}
	for _, m := range []mech.Server{mech.OAuthBearer{}, mech.XOAuth2{}} {
		s, err := session.NewServer(m, mech.Channel{Secure: true}, lax)
		if err != nil {
			t.Fatal(err)
		}
		ir := "n,a=" + user + ",\x01auth=Bearer " + token + "\x01\x01"
		if m.Name() == "XOAUTH2" {
			ir = "user=" + user + "\x01auth=Bearer " + token + "\x01\x01"
		}
		_, err = s.StartInitial(ctx, []byte(ir))
		if !errors.Is(err, creds.ErrMisconfigured) {
			t.Errorf("%s with a validator that names no subject: %v, want ErrMisconfigured", m.Name(), err)
		}
		check(m.Name()+" validator without subject", err, secrets)
	}
}

// keySecrets returns the StoredKey and ServerKey of keys in every
// encoding an error could use.
func keySecrets(keys []creds.SCRAMKeys) []string {
	var out []string
	for _, k := range keys {
		out = append(out, encodings(k.StoredKey)...)
		out = append(out, encodings(k.ServerKey)...)
	}
	return out
}

func encodings(b []byte) []string {
	return []string{base64.StdEncoding.EncodeToString(b), hex.EncodeToString(b), string(b)}
}

// errText is what an error shows: its text and any failure data.
func errText(err error) string {
	text := err.Error()
	var fe *mech.FailureError
	if errors.As(err, &fe) {
		text += string(fe.Data)
	}
	return text
}

func checkNoSecret(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s: error %q holds a secret", what, text)
		}
	}
}

package hardening

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// enumWorld is a server that knows one user, "user", with identities of
// the kind given, and tokens bound to users.
func enumWorld(t testing.TB, hashed bool) *registry.Registry {
	t.Helper()
	ids := &creds.MapStore{}
	if hashed {
		id, err := creds.NewHashedIdentity(user, password, hash.PBKDF2{Digest: "sha256", Rounds: 10000}, false)
		if err != nil {
			t.Fatal(err)
		}
		ids.Add(id)
	} else {
		ids.Add(creds.ClearIdentity{Name: user, Password: password})
	}
	keys := &scram.MemoryStore{}
	if err := keys.SetPassword(user, password, 4096, scram.Hashes...); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{user: token}
	validator := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		want, ok := tokens[r.User]
		if !ok {
			want = "decoy-token-for-unknown-users"
		}
		if subtle.ConstantTimeCompare([]byte(r.Token), []byte(want)) != 1 || !ok {
			return mech.ErrAuthFailed
		}
		return nil
	})
	cfg := &registry.Config{
		Session:        session.Config{Identities: ids, FinalAsChallenge: true},
		SCRAMStore:     keys,
		TokenValidator: validator,
	}
	reg, err := registry.Named(cfg, "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER")
	if err != nil {
		t.Fatal(err)
	}
	// SCRAM clients cache their derived keys, so that what the benchmark
	// compares is the server's work, not the client's PBKDF2.
	cache := &scram.KeyCache{}
	for _, h := range []scram.Hash{scram.SHA1, scram.SHA256, scram.SHA512, scram.SHA3_512} {
		if err := reg.Register(scram.Mechanism{Hash: h, Store: keys, Cache: cache}); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// failure is what an attacker sees of a failed exchange: the messages the
// server sent (with nonces and salts masked where they must differ), the
// number of steps and the error class.
type failure struct {
	steps    int
	err      string
	evalue   string
	messages int
}

// attempt runs one exchange of name as user u with secret s (password or
// token) and returns what the server showed.
func attempt(t testing.TB, reg *registry.Registry, name, u, s string) failure {
	t.Helper()
	srv, err := reg.Server(name, mech.Channel{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := reg.Client(name, creds.Client{Authcid: u, Password: s, Token: s}, mech.Channel{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	var f failure
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
		if bytes.HasPrefix(step.Challenge, []byte("e=")) {
			f.evalue = string(step.Challenge)
		}
		resp, cerr := cli.Next(ctx, step.Challenge)
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
	return f
}

// TestEnumeration: for each mechanism, an unknown user and a known user
// with a wrong secret fail in the same way: the same error, the same number
// of steps and challenges, and for SCRAM the same e= value.
func TestEnumeration(t *testing.T) {
	for _, hashed := range []bool{false, true} {
		reg := enumWorld(t, hashed)
		for _, name := range reg.Names() {
			if name == "CRAM-MD5" && hashed {
				continue // CRAM-MD5 needs clear secrets
			}
			wrong := attempt(t, reg, name, user, "wrong-secret")
			unknown := attempt(t, reg, name, "nobody", "wrong-secret")
			if wrong != unknown {
				t.Errorf("%s (hashed %v): wrong secret %+v, unknown user %+v", name, hashed, wrong, unknown)
			}
			if strings.HasPrefix(name, "SCRAM") && wrong.evalue != "e=invalid-proof" {
				t.Errorf("%s: e= value %q", name, wrong.evalue)
			}
		}
	}
}

// TestNoSecretsInErrors runs every failing path of the corruption test and
// checks that no error text holds the password, the token, the SCRAM keys,
// the proof, or the raw client message.
func TestNoSecretsInErrors(t *testing.T) {
	w := newWorld(t, true)
	secrets := []string{password, token}
	// The server's own stored keys, in every encoding an error could use.
	for _, h := range scram.Hashes {
		k, err := w.keys.Keys(ctx, h, user)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range [][]byte{k.StoredKey, k.ServerKey} {
			secrets = append(secrets, base64.StdEncoding.EncodeToString(key), hex.EncodeToString(key), string(key))
		}
	}
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
				text := err.Error()
				var fe *mech.FailureError
				if errors.As(err, &fe) {
					text += string(fe.Data)
				}
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s: error %q holds a secret", name, text)
					}
				}
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
}

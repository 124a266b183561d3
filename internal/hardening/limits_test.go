package hardening

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/gs2"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// TestLimitEdges checks, for the limits not tested beside their code, the
// value at the limit and the one past it.
func TestLimitEdges(t *testing.T) {
	t.Run("bearer token", func(t *testing.T) {
		// A validator that accepts every token: what is tested is the
		// parser's bound, before any validator sees the token.
		accept := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
			r.Subject = "u"
			return nil
		})
		cfg := &session.Config{Tokens: accept}
		for _, n := range []int{mech.MaxToken, mech.MaxToken + 1} {
			tok := strings.Repeat("t", n)
			for _, m := range []mech.Server{mech.OAuthBearer{}, mech.XOAuth2{}} {
				msg := "n,,\x01auth=Bearer " + tok + "\x01\x01"
				if m.Name() == "XOAUTH2" {
					msg = "user=u\x01auth=Bearer " + tok + "\x01\x01"
				}
				s, err := session.NewServer(m, mech.Channel{}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				step, err := s.StartInitial(ctx, []byte(msg))
				if ok := n <= mech.MaxToken; (err == nil && step.Done) != ok {
					t.Errorf("%s, token of %d: %+v, %v", m.Name(), n, step, err)
				}
				if err != nil && !errors.Is(err, mech.ErrInvalidResponse) {
					t.Errorf("%s, token of %d: %v, want ErrInvalidResponse", m.Name(), n, err)
				}
			}
		}
	})
	t.Run("channel-binding name", func(t *testing.T) {
		for _, n := range []int{gs2.MaxCBName, gs2.MaxCBName + 1} {
			_, _, err := gs2.Parse([]byte("p=" + strings.Repeat("a", n) + ",,"))
			if ok := n <= gs2.MaxCBName; (err == nil) != ok {
				t.Errorf("name of %d: %v", n, err)
			}
		}
	})
	t.Run("SCRAM client nonce", func(t *testing.T) {
		cfg := &session.Config{Verifier: newWorld(t, false).verifier}
		for _, n := range []int{scram.MaxNonce, scram.MaxNonce + 1} {
			s, err := session.NewServer(scram.Mechanism{}, mech.Channel{}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.StartInitial(ctx, []byte("n,,n=user,r="+strings.Repeat("x", n)))
			if ok := n <= scram.MaxNonce; (err == nil) != ok {
				t.Errorf("nonce of %d: %v", n, err)
			}
		}
	})
	t.Run("SCRAM salt", func(t *testing.T) {
		for _, n := range []int{creds.MaxSCRAMSalt, creds.MaxSCRAMSalt + 1} {
			m := scram.Mechanism{Rand: strings.NewReader("abcdefghijklmnopqrstuvwx"), Cache: &scram.KeyCache{}}
			cli := session.NewClient(m, creds.Client{Authcid: user, Password: password}, mech.Channel{}, nil)
			if _, _, err := cli.Start(ctx); err != nil {
				t.Fatal(err)
			}
			salt := base64.StdEncoding.EncodeToString(make([]byte, n))
			_, err := cli.Next(ctx, []byte("r=abcdefghijklmnopqrstuvwxS,s="+salt+",i=4096"))
			if ok := n <= creds.MaxSCRAMSalt; (err == nil) != ok {
				t.Errorf("salt of %d: %v", n, err)
			}
		}
	})
	t.Run("SCRAM stored iterations", func(t *testing.T) {
		k := "QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE="
		for _, n := range []string{"10000000", "10000001"} {
			_, err := creds.ParseSCRAMKeys("{SCRAM-SHA-1}" + n + "," + k)
			if ok := n == "10000000"; (err == nil) != ok || err != nil && !errors.Is(err, creds.ErrBadSCRAMKeys) {
				t.Errorf("%s iterations: %v", n, err)
			}
		}
	})
	t.Run("SCRAM stored salt and iterations", func(t *testing.T) {
		// What a store accepts, and the mock keys of unknown users in a
		// store at the limit: the mock salt takes the store's length.
		for _, tc := range []struct {
			salt, iter int
			ok         bool
		}{
			{creds.MaxSCRAMSalt, creds.MaxSCRAMIterations, true},
			{creds.MaxSCRAMSalt + 1, 4096, false},
			{16, creds.MaxSCRAMIterations + 1, false},
		} {
			k := creds.SCRAMKeys{Hash: "SHA-1", Salt: bytes.Repeat([]byte{7}, tc.salt), Iterations: tc.iter,
				StoredKey: make([]byte, 20), ServerKey: make([]byte, 20)}
			var store creds.MemoryStore
			err := store.Add(creds.Account{Name: user, SCRAM: []creds.SCRAMKeys{k}})
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, creds.ErrMisconfigured) {
				t.Errorf("salt %d, %d iterations: Add: %v", tc.salt, tc.iter, err)
			}
			if err != nil {
				continue
			}
			l, err := (&creds.Verifier{Store: &store}).LookupSCRAM(ctx, "nobody", "SHA-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Keys.Salt) != tc.salt || l.Keys.Iterations != tc.iter {
				t.Errorf("salt %d, %d iterations: mock keys have %d, %d", tc.salt, tc.iter, len(l.Keys.Salt), l.Keys.Iterations)
			}
		}
	})
	t.Run("SCRAM client iterations", func(t *testing.T) {
		for _, tc := range []struct {
			min, max, i int
			ok          bool
		}{{4096, 5000, 5000, true}, {4096, 5000, 5001, false}, {4096, 0, 4096, true}, {4096, 0, 4095, false}} {
			m := scram.Mechanism{MinIterations: tc.min, MaxIterations: tc.max, Rand: strings.NewReader("abcdefghijklmnopqrstuvwx"), Cache: &scram.KeyCache{}}
			cli := session.NewClient(m, creds.Client{Authcid: user, Password: password}, mech.Channel{}, nil)
			if _, _, err := cli.Start(ctx); err != nil {
				t.Fatal(err)
			}
			_, err := cli.Next(ctx, []byte("r=abcdefghijklmnopqrstuvwxS,s=QSXCR+Q6sek8bf92,i="+itoa(tc.i)))
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, mech.ErrInvalidChallenge) {
				t.Errorf("max %d, i=%d: %v", tc.max, tc.i, err)
			}
		}
	})
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

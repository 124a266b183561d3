package hardening

import (
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
		for _, n := range []int{mech.MaxToken, mech.MaxToken + 1} {
			tok := strings.Repeat("t", n)
			for _, m := range []mech.Server{mech.OAuthBearer{}, mech.XOAuth2{}} {
				msg := "n,,\x01auth=Bearer " + tok + "\x01\x01"
				if m.Name() == "XOAUTH2" {
					msg = "user=u\x01auth=Bearer " + tok + "\x01\x01"
				}
				s := session.NewServer(m, mech.Channel{}, nil)
				_, err := s.StartInitial(ctx, []byte(msg))
				if ok := n <= mech.MaxToken; (err == nil) != ok {
					t.Errorf("%s, token of %d: %v", m.Name(), n, err)
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
		m := scram.Mechanism{Store: newWorld(t, false).keys}
		for _, n := range []int{scram.MaxNonce, scram.MaxNonce + 1} {
			s := session.NewServer(m, mech.Channel{}, nil)
			_, err := s.StartInitial(ctx, []byte("n,,n=user,r="+strings.Repeat("x", n)))
			if ok := n <= scram.MaxNonce; (err == nil) != ok {
				t.Errorf("nonce of %d: %v", n, err)
			}
		}
	})
	t.Run("SCRAM salt", func(t *testing.T) {
		for _, n := range []int{scram.MaxSalt, scram.MaxSalt + 1} {
			m := scram.Mechanism{Rand: strings.NewReader("abcdefghijklmnopqrstuvwx"), Cache: &scram.KeyCache{}}
			cli := session.NewClient(m, creds.Client{Authcid: user, Password: password}, mech.Channel{}, nil)
			if _, _, err := cli.Start(ctx); err != nil {
				t.Fatal(err)
			}
			salt := base64.StdEncoding.EncodeToString(make([]byte, n))
			_, err := cli.Next(ctx, []byte("r=abcdefghijklmnopqrstuvwxS,s="+salt+",i=4096"))
			if ok := n <= scram.MaxSalt; (err == nil) != ok {
				t.Errorf("salt of %d: %v", n, err)
			}
		}
	})
	t.Run("SCRAM stored iterations", func(t *testing.T) {
		k := "QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE="
		for _, n := range []string{"10000000", "10000001"} {
			_, _, err := scram.ParseStored("{SCRAM-SHA-1}" + n + "," + k)
			if ok := n == "10000000"; (err == nil) != ok {
				t.Errorf("%s iterations: %v", n, err)
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

package benchcmp

// Items 3, 4 and 5 of issue 6: the SCRAM server side replaying the RFC
// exchanges, the full SCRAM-SHA-256 exchange at 4096 iterations (fresh
// client, cached-key client, and the PBKDF2 floor), and SCRAM-SHA-256-PLUS
// with tls-exporter over an in-memory TLS connection.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"hash"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	pqscram "github.com/lib/pq/scram"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
	xdg "github.com/xdg-go/scram"
	mellium "mellium.im/sasl"
)

var errUnknown = errors.New("unknown user")

// xdgLookup returns the stored credentials of v's user.
func xdgLookup(tb testing.TB, v vector) xdg.CredentialLookup {
	k := v.keys(tb)
	sc := xdg.StoredCredentials{
		KeyFactors: xdg.KeyFactors{Salt: string(k.Salt), Iters: k.Iterations},
		StoredKey:  k.StoredKey,
		ServerKey:  k.ServerKey,
	}
	return func(u string) (xdg.StoredCredentials, error) {
		if u != v.User {
			return xdg.StoredCredentials{}, errUnknown
		}
		return sc, nil
	}
}

// scramConfig returns a server configuration whose Verifier holds user u
// with keys k.
func scramConfig(tb testing.TB, u string, k creds.SCRAMKeys) *session.Config {
	s := &creds.MemoryStore{}
	if err := s.Add(creds.Account{Name: u, SCRAM: []creds.SCRAMKeys{k}}); err != nil {
		tb.Fatal(err)
	}
	return &session.Config{Verifier: &creds.Verifier{Store: s}}
}

// benchReplay runs the server side of the RFC exchange in v: the server's
// nonce is injected and the client's two messages are replayed, so no
// client work and no PBKDF2 is measured. mellium is left out: its server
// nonce cannot be injected (its option is unexported) and it looks up a
// salted password, not stored keys, so the client's proof would have to be
// computed on every iteration.
func benchReplay(b *testing.B, mechName string, h scram.Hash, xh xdg.HashGeneratorFcn) {
	v := loadVector(b, mechName)
	cf, cfin := []byte(v.ClientFirst), []byte(v.ClientFinal)
	b.Run("saslkit", func(b *testing.B) {
		var m mech.Server = scram.Mechanism{
			Hash:     h,
			Rand:     fixedNonce(v.ServerNonce),
			NonceLen: len(v.ServerNonce),
		}
		cfg := scramConfig(b, v.User, v.keys(b))
		run := func() (sf, final []byte) {
			s := newServer(b, m, mech.Channel{}, cfg)
			step, err := s.StartInitial(ctx, cf)
			if err != nil || step.Done {
				b.Fatal(step, err)
			}
			sf = step.Challenge
			step, err = s.Next(ctx, cfin)
			if err != nil || !step.Done {
				b.Fatal(step, err)
			}
			return sf, step.Final
		}
		if sf, final := run(); string(sf) != v.ServerFirst || string(final) != v.ServerFinal {
			b.Fatalf("replay gave %q, %q", sf, final)
		}
		measure(b, func() {
			run()
		})
	})
	b.Run("xdg-go", func(b *testing.B) {
		srv, err := xh.NewServer(xdgLookup(b, v))
		if err != nil {
			b.Fatal(err)
		}
		srv.WithNonceGenerator(func() string { return v.ServerNonce })
		run := func() (sf, final string) {
			c := srv.NewConversation()
			sf, err := c.Step(v.ClientFirst)
			if err != nil {
				b.Fatal(err)
			}
			final, err = c.Step(v.ClientFinal)
			if err != nil || !c.Valid() {
				b.Fatal(err)
			}
			return sf, final
		}
		if sf, final := run(); sf != v.ServerFirst || final != v.ServerFinal {
			b.Fatalf("replay gave %q, %q", sf, final)
		}
		measure(b, func() {
			run()
		})
	})
}

func BenchmarkSCRAMSHA256Server(b *testing.B) {
	benchReplay(b, "SCRAM-SHA-256", scram.SHA256, xdg.SHA256)
	benchHMACFloor(b, "SCRAM-SHA-256", sha256.New)
}

func BenchmarkSCRAMSHA1Server(b *testing.B) {
	benchReplay(b, "SCRAM-SHA-1", scram.SHA1, xdg.SHA1)
	benchHMACFloor(b, "SCRAM-SHA-1", sha1.New)
}

// benchHMACFloor is the cryptography every SCRAM server does for the
// client-final message, with crypto/hmac and nothing else: ClientSignature
// = HMAC(StoredKey, AuthMessage), H(ClientProof XOR ClientSignature)
// compared with StoredKey, and ServerSignature = HMAC(ServerKey,
// AuthMessage).
func benchHMACFloor(b *testing.B, mechName string, h func() hash.Hash) {
	v := loadVector(b, mechName)
	k := v.keys(b)
	withoutProof, proof64, _ := strings.Cut(v.ClientFinal, ",p=")
	proof := unb64(b, proof64)
	am := []byte(strings.TrimPrefix(v.ClientFirst, "n,,") + "," + v.ServerFirst + "," + withoutProof)
	b.Run("hmac-floor", func(b *testing.B) {
		measure(b, func() {
			mac := hmac.New(h, k.StoredKey)
			mac.Write(am)
			sig := mac.Sum(nil)
			subtle.XORBytes(sig, sig, proof)
			d := h()
			d.Write(sig)
			if !hmac.Equal(d.Sum(nil), k.StoredKey) {
				b.Fatal("proof does not verify")
			}
			mac = hmac.New(h, k.ServerKey)
			mac.Write(am)
			mac.Sum(nil)
		})
	})
}

// exchangeKeys derives the RFC 7677 user's keys (salt from the RFC, 4096
// iterations) once.
func exchangeKeys(b *testing.B) creds.SCRAMKeys {
	v := loadVector(b, "SCRAM-SHA-256")
	k, err := creds.DeriveSCRAMKeys("SHA-256", password, unb64(b, v.Salt), 4096, false)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// saslkitExchange runs one SCRAM exchange between a client and a server
// session and fails b unless both sides accept it.
func saslkitExchange(b *testing.B, cm mech.Client, sm mech.Server, cch, sch mech.Channel, cfg *session.Config) {
	cli := session.NewClient(cm, creds.Client{Authcid: user, Password: password}, cch, nil)
	srv := newServer(b, sm, sch, cfg)
	ir, ok, err := cli.Start(ctx)
	if err != nil || !ok {
		b.Fatal(ok, err)
	}
	step, err := srv.StartInitial(ctx, ir)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := cli.Next(ctx, step.Challenge)
	if err != nil {
		b.Fatal(err)
	}
	step, err = srv.Next(ctx, resp)
	if err != nil || !step.Done {
		b.Fatal(step, err)
	}
	if err := cli.SuccessData(ctx, step.Final); err != nil {
		b.Fatal(err)
	}
}

// xdgExchange runs one exchange between conversations c and s.
func xdgExchange(b *testing.B, c *xdg.ClientConversation, s *xdg.ServerConversation) {
	c1, err := c.Step("")
	if err != nil {
		b.Fatal(err)
	}
	s1, err := s.Step(c1)
	if err != nil {
		b.Fatal(err)
	}
	c2, err := c.Step(s1)
	if err != nil {
		b.Fatal(err)
	}
	s2, err := s.Step(c2)
	if err != nil || !s.Valid() {
		b.Fatal(err)
	}
	if _, err := c.Step(s2); err != nil || !c.Valid() {
		b.Fatal(err)
	}
}

func xdgServer(b *testing.B, k creds.SCRAMKeys) *xdg.Server {
	sc := xdg.StoredCredentials{
		KeyFactors: xdg.KeyFactors{Salt: string(k.Salt), Iters: k.Iterations},
		StoredKey:  k.StoredKey,
		ServerKey:  k.ServerKey,
	}
	srv, err := xdg.SHA256.NewServer(func(u string) (xdg.StoredCredentials, error) {
		if u != user {
			return xdg.StoredCredentials{}, errUnknown
		}
		return sc, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// BenchmarkSCRAMExchange is the full SCRAM-SHA-256 exchange at 4096
// iterations with a fresh client: one PBKDF2 on the client, stored keys on
// the server, random nonces on both sides. pbkdf2-floor is that one PBKDF2
// alone.
func BenchmarkSCRAMExchange(b *testing.B) {
	k := exchangeKeys(b)
	b.Run("saslkit", func(b *testing.B) {
		var sm mech.Server = scram.Mechanism{}
		var cm mech.Client = scram.Mechanism{}
		cfg := scramConfig(b, user, k)
		measure(b, func() {
			saslkitExchange(b, cm, sm, mech.Channel{}, mech.Channel{}, cfg)
		})
	})
	b.Run("xdg-go", func(b *testing.B) {
		srv := xdgServer(b, k)
		measure(b, func() {
			cli, err := xdg.SHA256.NewClient(user, password, "")
			if err != nil {
				b.Fatal(err)
			}
			xdgExchange(b, cli.NewConversation(), srv.NewConversation())
		})
	})
	b.Run("mellium", func(b *testing.B) {
		// mellium's server stores the salted password, not StoredKey and
		// ServerKey; it derives them (two HMACs, one hash) per exchange.
		salted := pbkdf2Key(b, sha256.New, password, k.Salt, 4096, 32)
		fetch := mellium.SaltedCredentials(func(u, _ []byte, _ string) ([]byte, []byte, int64, error) {
			if string(u) != user {
				return nil, nil, 0, errUnknown
			}
			return k.Salt, salted, 4096, nil
		})
		cred := mellium.Credentials(func() (u, p, id []byte) { return []byte(user), []byte(password), nil })
		measure(b, func() {
			cli := mellium.NewClient(mellium.ScramSha256, cred)
			srv := mellium.NewServer(mellium.ScramSha256, nil, fetch)
			melliumExchange(b, cli, srv)
		})
	})
	// lib/pq has a SCRAM client only: it runs against xdg-go's server.
	b.Run("lib-pq", func(b *testing.B) {
		srv := xdgServer(b, k)
		measure(b, func() {
			c := pqscram.NewClient(sha256.New, user, password)
			s := srv.NewConversation()
			c.Step(nil)
			s1, err := s.Step(string(c.Out()))
			if err != nil {
				b.Fatal(err)
			}
			c.Step([]byte(s1))
			s2, err := s.Step(string(c.Out()))
			if err != nil || !s.Valid() {
				b.Fatal(err)
			}
			if !c.Step([]byte(s2)) || c.Err() != nil {
				b.Fatal(c.Err())
			}
		})
	})
	b.Run("pbkdf2-floor", func(b *testing.B) {
		measure(b, func() {
			pbkdf2Key(b, sha256.New, password, k.Salt, 4096, 32)
		})
	})
}

func pbkdf2Key(b *testing.B, h func() hash.Hash, pw string, salt []byte, iter, n int) []byte {
	key, err := pbkdf2.Key(h, pw, salt, iter, n)
	if err != nil {
		b.Fatal(err)
	}
	return key
}

func melliumExchange(b *testing.B, cli, srv *mellium.Negotiator) {
	msg := []byte(nil)
	// client-first, server-first, client-final, server-final, client check.
	for i, n := range []*mellium.Negotiator{cli, srv, cli, srv, cli} {
		more, resp, err := n.Step(msg)
		if err != nil {
			b.Fatal(i, err)
		}
		if i == 4 && more {
			b.Fatal("client not done")
		}
		msg = resp
	}
}

// BenchmarkSCRAMExchangeCached is the full SCRAM-SHA-256 exchange with a
// client that keeps its derived keys: saslkit's scram.KeyCache, xdg-go's
// per-Client cache. The cache is warmed before the timer starts. mellium
// has no key cache.
func BenchmarkSCRAMExchangeCached(b *testing.B) {
	k := exchangeKeys(b)
	b.Run("saslkit", func(b *testing.B) {
		var sm mech.Server = scram.Mechanism{}
		var cm mech.Client = scram.Mechanism{Cache: &scram.KeyCache{}}
		cfg := scramConfig(b, user, k)
		saslkitExchange(b, cm, sm, mech.Channel{}, mech.Channel{}, cfg)
		measure(b, func() {
			saslkitExchange(b, cm, sm, mech.Channel{}, mech.Channel{}, cfg)
		})
	})
	b.Run("xdg-go", func(b *testing.B) {
		srv := xdgServer(b, k)
		cli, err := xdg.SHA256.NewClient(user, password, "")
		if err != nil {
			b.Fatal(err)
		}
		xdgExchange(b, cli.NewConversation(), srv.NewConversation())
		measure(b, func() {
			xdgExchange(b, cli.NewConversation(), srv.NewConversation())
		})
	})
}

// tlsPair returns the client's and the server's connection state of a TLS
// 1.3 connection over net.Pipe, with a fresh self-signed ECDSA certificate.
func tlsPair(tb testing.TB) (client, server tls.ConnectionState) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bench.example"},
		DNSNames:     []string{"bench.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	c1, c2 := net.Pipe()
	srv := tls.Server(c1, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS13,
	})
	cli := tls.Client(c2, &tls.Config{RootCAs: pool, ServerName: "bench.example", MinVersion: tls.VersionTLS13})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		tb.Fatal(err)
	}
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cli.Close(); srv.Close() })
	return cli.ConnectionState(), srv.ConnectionState()
}

// BenchmarkSCRAMPlusExchange is a SCRAM-SHA-256-PLUS exchange with
// tls-exporter over an in-memory TLS 1.3 connection. The handshake is done
// once, before the timer; each iteration derives the channel bindings from
// the connection states on both sides (mech.ClientTLSChannel and
// mech.ServerTLSChannel for saslkit,
// NewTLSExporterBinding for xdg-go) and runs the exchange with a cached-key
// client, so that PBKDF2 does not hide the cost of channel binding.
func BenchmarkSCRAMPlusExchange(b *testing.B) {
	k := exchangeKeys(b)
	ccs, scs := tlsPair(b)
	b.Run("saslkit", func(b *testing.B) {
		var sm mech.Server = scram.Mechanism{Plus: true}
		var cm mech.Client = scram.Mechanism{Plus: true, Cache: &scram.KeyCache{}}
		cfg := scramConfig(b, user, k)
		run := func() {
			// The server passes no certificate of its own: as before, it
			// offers tls-exporter only, and hashes no certificate.
			cch, sch := mech.ClientTLSChannel(&ccs), mech.ServerTLSChannel(&scs, nil)
			if cch.Bindings[0].Type != mech.TLSExporter {
				b.Fatal(cch.Bindings)
			}
			saslkitExchange(b, cm, sm, cch, sch, cfg)
		}
		run()
		measure(b, func() {
			run()
		})
	})
	b.Run("xdg-go", func(b *testing.B) {
		srv := xdgServer(b, k)
		cli, err := xdg.SHA256.NewClient(user, password, "")
		if err != nil {
			b.Fatal(err)
		}
		run := func() {
			ccb, err := xdg.NewTLSExporterBinding(&ccs)
			if err != nil {
				b.Fatal(err)
			}
			scb, err := xdg.NewTLSExporterBinding(&scs)
			if err != nil {
				b.Fatal(err)
			}
			c := cli.NewConversationWithChannelBinding(ccb)
			s := srv.NewConversationWithChannelBindingRequired(scb)
			xdgExchange(b, c, s)
		}
		run()
		measure(b, func() {
			run()
		})
	})
}

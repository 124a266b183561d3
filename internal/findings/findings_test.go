package findings

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

var ctx = context.Background()

// cheap is a fast PBKDF2 for tests.
var cheap = hash.PBKDF2{Digest: "sha256", Rounds: 1000}

func mustHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := creds.HashPassword(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustKeys(t testing.TB, h, pw string, saltLen int) creds.SCRAMKeys {
	t.Helper()
	salt := make([]byte, saltLen)
	rand.Read(salt)
	k, err := creds.DeriveSCRAMKeys(h, pw, salt, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustAdd(t testing.TB, s *creds.MemoryStore, a creds.Account) {
	t.Helper()
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
}

// serverReg returns a server registry over store with the named mechanisms.
func serverReg(t testing.TB, store creds.Store, secret []byte, names ...string) *registry.Registry {
	t.Helper()
	reg, err := registry.Named(&registry.Config{Session: session.Config{
		Verifier: &creds.Verifier{Store: store, Secret: secret},
	}}, names...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

var tlsChan = mech.Channel{Secure: true}

// drive runs one exchange between srv and cli, as protocol code does
// without FinalAsChallenge.
func drive(srv *session.Server, cli *session.Client) (*creds.Principal, error) {
	return session.Run(ctx, cli, srv, nil)
}

// login runs mechanism name with c against reg.
func login(t testing.TB, reg *registry.Registry, name string, c creds.Client) (*creds.Principal, error) {
	t.Helper()
	srv, err := reg.NewServer(name, tlsChan)
	if err != nil {
		t.Fatalf("NewServer(%s): %v", name, err)
	}
	cli, err := registry.Defaults().NewClient("PLAIN", c, tlsChan)
	if name != "PLAIN" {
		m, _ := registry.Builtin(name)
		cli, err = session.NewClient(m.(mech.Client), c, tlsChan, nil), nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return drive(srv, cli)
}

// Finding 1: the README's Serve with registry.Defaults() answered OK to any
// password; GoSASL reported done for unverified credentials; EXTERNAL
// through session.NewServer with no client identity was done with the
// client's authzid.
func TestFinding1UnverifiedIsNeverDone(t *testing.T) {
	for _, name := range []string{"PLAIN", "LOGIN"} {
		if _, err := registry.Defaults().NewServer(name, tlsChan); !errors.Is(err, creds.ErrMisconfigured) || !strings.Contains(err.Error(), name) {
			t.Errorf("Defaults().NewServer(%s) = %v, want ErrMisconfigured naming it", name, err)
		}
		m, _ := registry.Builtin(name)
		if _, err := session.NewServer(m.(mech.Server), tlsChan, nil); !errors.Is(err, creds.ErrMisconfigured) {
			t.Errorf("session.NewServer(%s, nil config) = %v, want ErrMisconfigured", name, err)
		}
	}

	// GoSASL: a wrong password is an error, never done.
	var store creds.MemoryStore
	mustAdd(t, &store, creds.Account{Name: "alice", Password: mustHash(t, "right")})
	reg := serverReg(t, &store, nil, "PLAIN")
	for pw, wantDone := range map[string]bool{"wrong": false, "right": true} {
		srv, err := reg.NewServer("PLAIN", tlsChan)
		if err != nil {
			t.Fatal(err)
		}
		g := srv.GoSASL(ctx)
		_, done, err := g.Next([]byte("\x00alice\x00" + pw))
		if done != wantDone || (err == nil) != wantDone {
			t.Errorf("GoSASL with %s password: done %v, err %v", pw, done, err)
		}
		if wantDone && g.Step().Principal.Account() != "alice" {
			t.Errorf("GoSASL principal = %v", g.Step().Principal)
		}
	}

	// EXTERNAL with no identity from the transport fails.
	srv, err := session.NewServer(mech.External{}, mech.Channel{Secure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if step, err := srv.StartInitial(ctx, []byte("admin")); !errors.Is(err, mech.ErrAuthFailed) || step.Done {
		t.Errorf("EXTERNAL without transport identity: step %+v, err %v", step, err)
	}
	// With one, the authzid goes to the policy.
	srv, _ = session.NewServer(mech.External{}, mech.Channel{Secure: true, External: "alice"}, nil)
	if _, err := srv.StartInitial(ctx, []byte("admin")); !errors.Is(err, creds.ErrUnauthorized) {
		t.Errorf("EXTERNAL alice as admin: %v, want ErrUnauthorized", err)
	}
}

// Finding 2: Unicode-equivalent spellings crossed accounts and reached the
// application and the Authorizer as the client wrote them.
func TestFinding2CanonicalNames(t *testing.T) {
	var store creds.MemoryStore
	mustAdd(t, &store, creds.Account{Name: "admin", Password: "{PLAIN}pencil"})
	mustAdd(t, &store, creds.Account{Name: "IX", Password: "{PLAIN}nine", NoPrep: true})
	reg := serverReg(t, &store, nil, "PLAIN")
	for _, spelling := range []string{"admin", "ａｄｍｉｎ", "ad\u00admin", "ad\u200bmin", "𝐚𝐝𝐦𝐢𝐧"} {
		p, err := login(t, reg, "PLAIN", creds.Client{Authcid: spelling, Password: "pencil"})
		if err != nil {
			t.Errorf("%q: %v", spelling, err)
			continue
		}
		if p.Account() != "admin" || p.Effective() != "admin" {
			t.Errorf("%q: Account %q Effective %q, want admin", spelling, p.Account(), p.Effective())
		}
	}
	// A NoPrep account matches byte for byte only.
	if _, err := login(t, reg, "PLAIN", creds.Client{Authcid: "Ⅸ", Password: "nine"}); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("NoPrep IX matched by Ⅸ: %v", err)
	}
	if _, err := login(t, reg, "PLAIN", creds.Client{Authcid: "IX", Password: "nine"}); err != nil {
		t.Errorf("NoPrep IX: %v", err)
	}

	// The Authorizer sees prepared names.
	var seen []string
	deny := creds.AuthorizerFunc(func(_ context.Context, account, authzid string) error {
		seen = append(seen, authzid)
		if authzid == "guest" {
			return creds.ErrUnauthorized
		}
		return nil
	})
	areg, err := registry.Named(&registry.Config{Session: session.Config{
		Verifier: &creds.Verifier{Store: &store}, Authorizer: deny,
	}}, "PLAIN")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, areg, "PLAIN", creds.Client{Authcid: "admin", Password: "pencil", Authzid: "ｇｕｅｓｔ"}); !errors.Is(err, creds.ErrUnauthorized) {
		t.Errorf("authzid ｇｕｅｓｔ got past a rule denying guest: %v", err)
	}
	if len(seen) != 1 || seen[0] != "guest" {
		t.Errorf("Authorizer saw %q, want [guest]", seen)
	}

	// Two accounts equal after SASLprep cannot both be stored.
	var s2 creds.MemoryStore
	mustAdd(t, &s2, creds.Account{Name: "alice", Password: "{PLAIN}a"})
	err = s2.Add(creds.Account{Name: "ａｌｉｃｅ", Password: "{PLAIN}b"})
	if !errors.Is(err, creds.ErrMisconfigured) || !strings.Contains(err.Error(), "alice") {
		t.Errorf("colliding account: %v", err)
	}
}

// Finding 3: the SCRAM server did not SASLprep user names, so "Ⅸ" failed
// with SCRAM and succeeded with PLAIN.
func TestFinding3SCRAMPreparesUserNames(t *testing.T) {
	var store creds.MemoryStore
	mustAdd(t, &store, creds.Account{Name: "IX", Password: "{PLAIN}pencil", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pencil", 16)}})
	reg := serverReg(t, &store, nil, "SCRAM-SHA-256", "PLAIN")
	for _, m := range []string{"SCRAM-SHA-256", "PLAIN"} {
		p, err := login(t, reg, m, creds.Client{Authcid: "Ⅸ", Password: "pencil"})
		if err != nil || p.Account() != "IX" {
			t.Errorf("%s as Ⅸ: %v, %v; want account IX", m, p, err)
		}
	}
}

// selfSigned returns a TLS certificate for name.
func selfSigned(t testing.TB, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// Finding 4: a server's tls-server-end-point hashed the peer's certificate,
// so a man in the middle holding any certificate the client accepts relayed
// SCRAM-SHA-256-PLUS: it terminates the client's TLS with that certificate
// and presents the same certificate as its client certificate to the real
// server. Played out here over real crypto/tls.
func TestFinding4ServerEndPointIsTheServersOwn(t *testing.T) {
	serverCert := selfSigned(t, "server.test")
	mitmCert := selfSigned(t, "server.test") // another key, also trusted
	pool := x509.NewCertPool()
	pool.AddCert(serverCert.Leaf)
	pool.AddCert(mitmCert.Leaf)

	// handshake returns the client's and the server's states of one TLS
	// connection whose server presents srvCert and whose client presents
	// cliCert, if not nil.
	handshake := func(srvCert tls.Certificate, cliCert *tls.Certificate) (tls.ConnectionState, tls.ConnectionState) {
		t.Helper()
		ccfg := &tls.Config{RootCAs: pool, ServerName: "server.test"}
		if cliCert != nil {
			ccfg.Certificates = []tls.Certificate{*cliCert}
		}
		scfg := &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequestClientCert}
		return testpki.Handshake(t, scfg, ccfg)
	}

	var store creds.MemoryStore
	mustAdd(t, &store, creds.Account{Name: "user", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pencil", 16)}})
	v := &creds.Verifier{Store: &store}
	plus := scram.Mechanism{Hash: scram.SHA256, Plus: true}
	// endPoint keeps only the tls-server-end-point binding of ch.
	endPoint := func(ch mech.Channel) mech.Channel {
		var keep []mech.Binding
		for _, b := range ch.Bindings {
			if b.Type == mech.TLSServerEndPoint {
				keep = append(keep, b)
			}
		}
		ch.Bindings = keep
		return ch
	}
	run := func(cliCh, srvCh mech.Channel) error {
		srv, err := session.NewServer(plus, srvCh, &session.Config{Verifier: v})
		if err != nil {
			return err
		}
		_, err = drive(srv, session.NewClient(plus, creds.Client{Authcid: "user", Password: "pencil"}, cliCh, nil))
		return err
	}

	// Direct: the binding matches.
	c, s := handshake(serverCert, nil)
	if err := run(endPoint(mech.ClientTLSChannel(&c)), endPoint(mech.ServerTLSChannel(&s, serverCert.Leaf))); err != nil {
		t.Fatalf("direct SCRAM-SHA-256-PLUS with tls-server-end-point: %v", err)
	}

	// Relayed: victim ⇄ MITM (the MITM's certificate), MITM ⇄ server (the
	// MITM's certificate again, as a client certificate).
	victim, _ := handshake(mitmCert, nil)
	_, server := handshake(serverCert, &mitmCert)
	cliCh := endPoint(mech.ClientTLSChannel(&victim))

	// What the old server did, hashing the peer's certificate, lets the
	// relay through: this is the attack the test guards against.
	peer, err := mech.ServerEndPoint(server.PeerCertificates[0])
	if err != nil {
		t.Fatal(err)
	}
	old := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: mech.TLSServerEndPoint, Data: peer}}}
	if err := run(cliCh, old); err != nil {
		t.Fatalf("the relay does not reproduce the attack: %v", err)
	}

	// Now: the server hashes its own certificate, and the relay fails.
	if err := run(cliCh, endPoint(mech.ServerTLSChannel(&server, serverCert.Leaf))); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("relayed SCRAM-SHA-256-PLUS: %v, want a channel-binding failure", err)
	}
	// A server that does not pass its own certificate leaves the binding
	// out rather than use the peer's.
	if ch := endPoint(mech.ServerTLSChannel(&server, nil)); len(ch.Bindings) != 0 {
		t.Errorf("ServerTLSChannel(cs with a client certificate, nil) offers tls-server-end-point")
	}
}

// tokens accepts "tok" as alice's token; subject says whether it names
// the subject.
type tokens struct{ subject bool }

func (v tokens) ValidateToken(_ context.Context, r *mech.TokenRequest) error {
	if r.Token != "tok" {
		return mech.ErrAuthFailed
	}
	if v.subject {
		r.Subject = "alice"
	}
	return nil
}

// Finding 5: OAUTHBEARER and XOAUTH2 were offered and run without TLS, so
// bearer tokens travelled in the clear.
func TestFinding5BearerTokensNeedTLS(t *testing.T) {
	reg, err := registry.Named(&registry.Config{Session: session.Config{Tokens: tokens{subject: true}}}, "OAUTHBEARER", "XOAUTH2")
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Advertise(mech.Channel{}); len(got) != 0 {
		t.Errorf("advertised without TLS: %v", got)
	}
	if got := reg.Advertise(tlsChan); len(got) != 2 {
		t.Errorf("advertised over TLS: %v, want both", got)
	}
	for _, name := range []string{"OAUTHBEARER", "XOAUTH2"} {
		if _, err := reg.NewServer(name, mech.Channel{}); !errors.Is(err, registry.ErrEncryptionRequired) {
			t.Errorf("NewServer(%s) without TLS: %v", name, err)
		}
	}
	_, err = reg.Select([]string{"OAUTHBEARER", "XOAUTH2"}, creds.Client{Authcid: "alice", Token: "tok"}, mech.Channel{})
	var se *registry.SelectError
	if !errors.As(err, &se) || len(se.Skipped) != 2 || !strings.Contains(se.Skipped[0].Reason, "TLS") {
		t.Errorf("Select without TLS: %v", err)
	}
}

// Finding 6: a validator that returned nil without setting Subject logged
// the client in as whoever it named.
func TestFinding6ValidatorMustNameTheSubject(t *testing.T) {
	for _, tc := range []struct {
		mech string
		ir   string
	}{
		{"OAUTHBEARER", "n,a=admin,\x01auth=Bearer tok\x01\x01"},
		{"XOAUTH2", "user=admin\x01auth=Bearer tok\x01\x01"},
	} {
		for _, subject := range []bool{false, true} {
			reg, err := registry.Named(&registry.Config{Session: session.Config{Tokens: tokens{subject: subject}}}, tc.mech)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := reg.NewServer(tc.mech, tlsChan)
			if err != nil {
				t.Fatal(err)
			}
			step, err := srv.StartInitial(ctx, []byte(tc.ir))
			switch {
			case !subject && (!errors.Is(err, creds.ErrMisconfigured) || step.Done):
				t.Errorf("%s, validator without subject: step %+v, err %v; want ErrMisconfigured", tc.mech, step, err)
			case subject && !errors.Is(err, creds.ErrUnauthorized):
				// alice's token asking for admin: the policy refuses.
				t.Errorf("%s, alice's token as admin: %v, want ErrUnauthorized", tc.mech, err)
			}
		}
	}
}

// serverFirst returns the salt and iteration count the SCRAM server sends
// user.
func serverFirst(t testing.TB, reg *registry.Registry, user string) ([]byte, string) {
	t.Helper()
	srv, err := reg.NewServer("SCRAM-SHA-256", tlsChan)
	if err != nil {
		t.Fatal(err)
	}
	step, err := srv.StartInitial(ctx, []byte("n,,n="+user+",r=abcdefghijklmnop"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`,s=([^,]*),i=([0-9]+)$`).FindStringSubmatch(string(step.Challenge))
	if m == nil {
		t.Fatalf("server-first %q", step.Challenge)
	}
	salt, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return salt, m[2]
}

// countingStore wraps a store and counts the checks of its password decoy.
type countingStore struct {
	creds.Store
	decoys *atomic.Int32
}

type countingDecoy struct {
	creds.PasswordChecker
	n *atomic.Int32
}

func (d countingDecoy) CheckPassword(pw string) error {
	d.n.Add(1)
	return d.PasswordChecker.CheckPassword(pw)
}

func (s countingStore) Profile() creds.Profile {
	p := s.Store.Profile()
	if p.PasswordDecoy != nil {
		p.PasswordDecoy = countingDecoy{p.PasswordDecoy, s.decoys}
	}
	return p
}

// Finding 7: unknown users could be told apart by the mock salt's length
// (a), by a salt that changed at every restart (b), by an early return for
// a password that fails SASLprep (c), by the cost of a clear-text account
// in a store of hashes (d), and by CRAM-MD5's error against hashed
// accounts (e).
func TestFinding7NothingLearnedFromFailing(t *testing.T) {
	var store creds.MemoryStore
	for _, n := range []string{"alice", "bob", "carol"} {
		mustAdd(t, &store, creds.Account{Name: n, Password: mustHash(t, "pw-"+n), SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pw-"+n, 12)}})
	}
	mustAdd(t, &store, creds.Account{Name: "dave", Password: "{PLAIN}pw-dave"})
	secret := []byte("0123456789abcdef0123456789abcdef")

	t.Run("a mock salt length", func(t *testing.T) {
		reg := serverReg(t, &store, secret, "SCRAM-SHA-256")
		known, ki := serverFirst(t, reg, "alice")
		unknown, ui := serverFirst(t, reg, "mallory")
		if len(known) != 12 || len(unknown) != len(known) || ui != ki {
			t.Errorf("salt %d octets i=%s for alice, %d octets i=%s for an unknown user", len(known), ki, len(unknown), ui)
		}
	})
	t.Run("b mock salt stable across restarts", func(t *testing.T) {
		a, _ := serverFirst(t, serverReg(t, &store, secret, "SCRAM-SHA-256"), "mallory")
		b, _ := serverFirst(t, serverReg(t, &store, secret, "SCRAM-SHA-256"), "mallory")
		c, _ := serverFirst(t, serverReg(t, &store, secret, "SCRAM-SHA-256"), "ｍａｌｌｏｒｙ")
		if string(a) != string(b) || string(a) != string(c) {
			t.Errorf("unknown user's salt differs between two servers with one secret, or between spellings")
		}
	})
	t.Run("c no early return for a password that fails SASLprep", func(t *testing.T) {
		// PBKDF2 allocates; an early return does not. The work must be
		// the same whether or not the password prepares.
		for _, a := range []creds.Account{
			{Name: "k", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pencil", 16)}},
			{Name: "h", Password: mustHash(t, "pencil")},
		} {
			bad := testing.AllocsPerRun(5, func() { _ = a.CheckPassword("\x01") })
			wrong := testing.AllocsPerRun(5, func() { _ = a.CheckPassword("wrong!") })
			// An early return would save PBKDF2's dozens of allocations.
			if bad < wrong/2 {
				t.Errorf("account %s: %v allocations for a password that fails SASLprep, %v for a wrong one", a.Name, bad, wrong)
			}
		}
	})
	t.Run("d mixed store", func(t *testing.T) {
		var n atomic.Int32
		v := &creds.Verifier{Store: countingStore{&store, &n}}
		for _, tc := range []struct {
			user   string
			decoys int32
		}{
			{"dave", 1},    // clear text: padded with the decoy
			{"mallory", 1}, // unknown: the decoy
			{"alice", 0},   // hashed: its own hash is the work
		} {
			n.Store(0)
			if _, err := v.CheckPassword(ctx, tc.user, "wrong"); !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("%s: %v", tc.user, err)
			}
			if n.Load() != tc.decoys {
				t.Errorf("%s: %d decoy checks, want %d", tc.user, n.Load(), tc.decoys)
			}
		}
	})
	t.Run("e CRAM-MD5 against a hashed account", func(t *testing.T) {
		reg := serverReg(t, &store, nil, "CRAM-MD5")
		var errs []string
		for _, user := range []string{"alice", "mallory"} {
			srv, err := reg.NewServer("CRAM-MD5", tlsChan)
			if err != nil {
				t.Fatal(err)
			}
			step, err := srv.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := registry.Builtin("CRAM-MD5")
			cli := session.NewClient(m.(mech.Client), creds.Client{Authcid: user, Password: "pw-" + user}, tlsChan, nil)
			resp, err := cli.Next(ctx, step.Challenge)
			if err != nil {
				t.Fatal(err)
			}
			_, err = srv.Next(ctx, resp)
			if !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("CRAM-MD5 %s: %v", user, err)
			}
			errs = append(errs, err.Error())
		}
		if errs[0] != errs[1] {
			t.Errorf("hashed account and unknown user differ: %q, %q", errs[0], errs[1])
		}
	})
}

// blockingStore's accounts block in CheckPassword until release is
// closed, counting how many run at once.
type blockingStore struct {
	release   chan struct{}
	now, peak atomic.Int32
}

type blocker struct{ s *blockingStore }

func (b blocker) AccountName() string { return "x" }
func (b blocker) CheckPassword(string) error {
	n := b.s.now.Add(1)
	for {
		p := b.s.peak.Load()
		if n <= p || b.s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	<-b.s.release
	b.s.now.Add(-1)
	return nil
}

func (s *blockingStore) Lookup(context.Context, string) (creds.Identity, error) {
	return blocker{s}, nil
}
func (s *blockingStore) Profile() creds.Profile { return creds.Profile{} }

// Finding 8: nothing bounded concurrent password verifications, so a flood
// of memory-hard hashes before authentication exhausted memory.
func TestFinding8VerificationIsBounded(t *testing.T) {
	s := &blockingStore{release: make(chan struct{})}
	v := &creds.Verifier{Store: s, MaxConcurrent: 2}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = v.CheckPassword(ctx, "x", "pw") }()
	}
	for s.now.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	// A queued check gives up when its context is done.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { _, err := v.CheckPassword(cctx, "x", "pw"); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("queued check with a cancelled context: %v", err)
	}
	close(s.release)
	wg.Wait()
	if p := s.peak.Load(); p != 2 {
		t.Errorf("peak concurrent checks %d, want 2", p)
	}
}

// Finding 9: misconfiguration was silent or vague.
func TestFinding9MisconfigurationNamesWhatIsMissing(t *testing.T) {
	var hashed creds.MemoryStore
	mustAdd(t, &hashed, creds.Account{Name: "alice", Password: mustHash(t, "pencil")})
	for _, tc := range []struct {
		names []string
		want  []string
	}{
		{[]string{"PLAIN", "SCRAM-SHA-256"}, []string{"SCRAM-SHA-256", "keys"}},
		{[]string{"CRAM-MD5"}, []string{"CRAM-MD5", "clear"}},
		{[]string{"OAUTHBEARER"}, []string{"OAUTHBEARER", "token validator"}},
	} {
		_, err := registry.Named(&registry.Config{Session: session.Config{Verifier: &creds.Verifier{Store: &hashed}}}, tc.names...)
		if !errors.Is(err, creds.ErrMisconfigured) {
			t.Errorf("Named(%v) = %v, want ErrMisconfigured", tc.names, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Named(%v): %q does not say %q", tc.names, err, w)
			}
		}
	}
	// A secret anyone can guess would make mock salts computable.
	if _, err := registry.Named(&registry.Config{Session: session.Config{Verifier: &creds.Verifier{Store: &hashed, Secret: []byte("short")}}}, "PLAIN"); !errors.Is(err, creds.ErrMisconfigured) || !strings.Contains(err.Error(), "secret") {
		t.Errorf("Verifier with a 5-octet secret: %v", err)
	}
	if _, err := registry.Defaults().NewServer("SCRAM-SHA-256", tlsChan); !errors.Is(err, registry.ErrUnknown) || !strings.Contains(err.Error(), "SCRAM-SHA-256") {
		t.Errorf("unknown mechanism: %v", err)
	}
	_, err := registry.Defaults().Select([]string{"PLAIN", "LOGIN"}, creds.Client{Authcid: "alice"}, mech.Channel{})
	if err == nil || !strings.Contains(err.Error(), "PLAIN") || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("Select: %v, want the skipped mechanisms and why", err)
	}
	if err := registry.Defaults().Register(lower{}); !errors.Is(err, registry.ErrInvalidName) || !strings.Contains(err.Error(), "upper case") {
		t.Errorf("Register(x-lower): %v", err)
	}
	if _, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 1000, false); err == nil || !strings.Contains(err.Error(), "1000") || !strings.Contains(err.Error(), "4096") {
		t.Errorf("DeriveSCRAMKeys with 1000 iterations: %v", err)
	}
	// The client names the value and the bound it broke.
	cli := session.NewClient(scram.Mechanism{Hash: scram.SHA256}, creds.Client{Authcid: "alice", Password: "pencil"}, tlsChan, nil)
	ir, _, _ := cli.Start(ctx)
	nonce := strings.TrimPrefix(string(ir), "n,,n=alice,r=")
	_, err = cli.Next(ctx, []byte("r="+nonce+"srv,s=c2FsdA==,i=1000"))
	if err == nil || !strings.Contains(err.Error(), "1000") || !strings.Contains(err.Error(), "4096") {
		t.Errorf("client refusing 1000 iterations: %v", err)
	}
}

type lower struct{}

func (lower) Name() string                { return "x-lower" }
func (lower) Properties() mech.Properties { return mech.Properties{} }
func (lower) ServerAttempt(context.Context, *mech.ServerInput) (mech.ServerResult, error) {
	return mech.ServerResult{}, nil
}

// Finding 10: docs named things that do not exist. The names the redesign
// removed may appear only in docs/upgrading.md, which maps them to the new
// ones.
func TestFinding10DocsNameNoRemovedAPI(t *testing.T) {
	removed := regexp.MustCompile(`\b(creds\.(Server|ClearIdentity|HashedIdentity|NewHashedIdentity|MapStore|IdentityStore|Decoy|DecoyLike|ExternalError|ErrUnusable|NamesEqual|VerifierFunc|NewPasswordServer|NewTokenServer|NewVerifiedServer|NewExternalServer|NewAnonymousServer)|scram\.(Store|MemoryStore|Identity|Keys|Derive|ParseStored|ErrBadKeys|ErrUnknownUser|Upgrade|KeySetter|MaxIterations|DefaultMinIterations|MaxSalt|ErrValue[A-Za-z]*)|mech\.TLSChannel|Anonymous\.Trace|session\.Config\.Identities|Config\.Identities|registry\.Config\.(SCRAMStore|TokenValidator)|Step\.Verified|Step\.Creds|registry\.DefaultNames)\b`)
	root := filepath.Join("..", "..")
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, filepath.Join(root, "README.md"))
	for _, f := range files {
		if filepath.Base(f) == "upgrading.md" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := removed.FindString(line); m != "" {
				t.Errorf("%s:%d names %s, which no longer exists", filepath.Base(f), i+1, m)
			}
		}
	}
}

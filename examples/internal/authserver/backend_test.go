package authserver

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

func newBackend(t *testing.T, cfg Config) *Backend {
	t.Helper()
	b, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchange runs the built-in client mechanism name against b's server
// session for it, in process, and returns the server's outcome.
func exchange(t *testing.T, b *Backend, name string, c creds.Client, ch mech.Channel) (*creds.Principal, error) {
	t.Helper()
	ctx := context.Background()
	srv, err := b.Registry().NewServer(name, ch)
	if err != nil {
		return nil, err
	}
	m, _ := registry.Builtin(name)
	cli := session.NewClient(m.(mech.Client), c, ch, nil)
	var step session.Step
	ir, ok, err := cli.Start(ctx)
	switch {
	case err != nil:
		t.Fatalf("client Start: %v", err)
	case ok:
		step, err = srv.StartInitial(ctx, ir)
	default:
		step, err = srv.Start(ctx)
	}
	for err == nil && !step.Done {
		var resp []byte
		if resp, err = cli.Next(ctx, step.Challenge); err != nil {
			t.Fatalf("client Next: %v", err)
		}
		step, err = srv.Next(ctx, resp)
	}
	if err != nil {
		return nil, err
	}
	return step.Principal, nil
}

// mockSalt returns the salt b's SCRAM-SHA-256 server gives user.
func mockSalt(t *testing.T, b *Backend, user string) string {
	t.Helper()
	srv, err := b.Registry().NewServer("SCRAM-SHA-256", mech.Channel{})
	if err != nil {
		t.Fatal(err)
	}
	step, err := srv.StartInitial(context.Background(), []byte("n,,n="+user+",r=0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	for _, attr := range strings.Split(string(step.Challenge), ",") {
		if s, ok := strings.CutPrefix(attr, "s="); ok {
			return s
		}
	}
	t.Fatalf("server-first message %q has no salt", step.Challenge)
	return ""
}

// TestSecretFile: -secret-file is created once, 32 random octets readable
// by its owner only, and two backends built with it give an unknown user
// the same salt, as two restarts of one server do; another secret gives
// another salt.
func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	cfg := Config{Mechs: "SCRAM-SHA-256,PLAIN", SecretFile: path}
	b1 := newBackend(t, cfg)
	secret, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != SecretSize {
		t.Errorf("secret file holds %d octets; want %d", len(secret), SecretSize)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, %v; want 0600", fi.Mode(), err)
	}
	b2 := newBackend(t, cfg)
	if again, _ := os.ReadFile(path); !bytes.Equal(again, secret) {
		t.Error("the second backend rewrote the secret file")
	}
	s1, s2 := mockSalt(t, b1, "nobody"), mockSalt(t, b2, "nobody")
	if s1 != s2 {
		t.Errorf("unknown user's salt %s, then %s with the same secret file", s1, s2)
	}
	if mockSalt(t, b1, "somebody") == s1 {
		t.Error("two unknown users have the same salt")
	}
	other := newBackend(t, Config{Mechs: cfg.Mechs, SecretFile: filepath.Join(dir, "other")})
	if s3 := mockSalt(t, other, "nobody"); s3 == s1 {
		t.Error("another secret gives the unknown user the same salt")
	}
	// And it serves.
	if p, err := exchange(t, b2, "SCRAM-SHA-256", creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}); err != nil || p.Account() != "user" {
		t.Errorf("SCRAM with the secret file: %v, %v", p, err)
	}
}

func TestSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("s3cr3t-but-short"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{SecretFile: short}, nil)
	if err == nil || !strings.Contains(err.Error(), "-secret-file") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("short secret file: %v", err)
	}
	if _, err := New(Config{SecretFile: filepath.Join(dir, "no", "such", "dir")}, nil); err == nil {
		t.Error("secret file in a missing directory: no error")
	}
	// A secret others may read is used, with a warning.
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, bytes.Repeat([]byte("k"), 40), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if _, err := New(Config{SecretFile: open}, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "level=WARN") || strings.Contains(log.String(), "kkkk") {
		t.Errorf("log %q: want a warning without the secret", log.String())
	}
}

// TestNoSecretFile: without -secret-file the server still serves, and an
// unknown user gets one salt for the life of the process.
func TestNoSecretFile(t *testing.T) {
	b := newBackend(t, Config{Mechs: "SCRAM-SHA-256,PLAIN", InsecureAuth: true})
	if b.Verifier().Secret != nil {
		t.Error("a secret without -secret-file")
	}
	if first, again := mockSalt(t, b, "nobody"), mockSalt(t, b, "nobody"); first != again {
		t.Error("an unknown user's salt changes between attempts")
	}
	good := creds.Client{Authcid: "user", Password: "pencil"}
	for _, m := range []string{"SCRAM-SHA-256", "PLAIN"} {
		if p, err := exchange(t, b, m, good, mech.Channel{}); err != nil || p.Account() != "user" {
			t.Errorf("%s: %v, %v", m, p, err)
		}
		if _, err := exchange(t, b, m, creds.Client{Authcid: "nobody", Password: "pencil"}, mech.Channel{}); Classify(err) != AuthFailed {
			t.Errorf("%s unknown user: %v", m, err)
		}
	}
}

// TestOneVerifier: the registry's sessions and the IMAP LOGIN command
// check through one Verifier, limited by -max-verify.
func TestOneVerifier(t *testing.T) {
	b := newBackend(t, Config{MaxVerify: 3})
	v := b.Verifier()
	if v.MaxConcurrent != 3 || v.Store != b.users {
		t.Errorf("verifier %+v", v)
	}
	if b.sess.Verifier != v || b.sess.Tokens != b.tokens || !b.sess.FinalAsChallenge {
		t.Errorf("session config %+v does not use the backend's verifier and tokens", b.sess)
	}
	ctx := context.Background()
	if p, err := b.checkPassword(ctx, "\uff55\uff53\uff45\uff52", "pencil"); err != nil || p.Account() != "user" {
		t.Errorf("LOGIN command as ｕｓｅｒ: %v, %v; want account user", p, err)
	}
	for _, pw := range []string{"wrong", "", strings.Repeat("x", mech.MaxField+1)} {
		if _, err := b.checkPassword(ctx, "user", pw); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("LOGIN command with password of %d octets: %v", len(pw), err)
		}
	}
	if _, err := New(Config{MaxVerify: -1}, nil); err == nil {
		t.Error("-max-verify -1: no error")
	}
}

// TestTokenMechanismsNeedTLS: OAUTHBEARER and XOAUTH2 send a reusable
// bearer token, so without TLS they are offered only with -insecure-auth.
func TestTokenMechanismsNeedTLS(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		b := newBackend(t, Config{InsecureAuth: insecure})
		plain := strings.Join(b.Advertise(mech.Channel{}), " ")
		tls := strings.Join(b.Advertise(mech.Channel{Secure: true}), " ")
		for _, m := range []string{"OAUTHBEARER", "XOAUTH2", "PLAIN"} {
			if strings.Contains(plain, m) != insecure {
				t.Errorf("-insecure-auth=%v: %s on a plain connection: %q", insecure, m, plain)
			}
			if !strings.Contains(tls, m) {
				t.Errorf("%s not offered over TLS: %q", m, tls)
			}
		}
		_, err := exchange(t, b, "OAUTHBEARER", creds.Client{Authcid: "user", Token: "tok123"}, mech.Channel{})
		if insecure && err != nil || !insecure && Classify(err) != EncryptionRequired {
			t.Errorf("-insecure-auth=%v: OAUTHBEARER without TLS: %v", insecure, err)
		}
	}
}

// TestMechanismsTheStoreCannotServe: the default list leaves them out; a
// -mechs that names one is refused at start, naming it.
func TestMechanismsTheStoreCannotServe(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	keys := scramLine(t, scram.SHA256, 4096)
	if err := os.WriteFile(users, []byte("stored:"+keys+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, Config{UsersFile: users})
	if got, want := strings.Join(b.Registry().Names(), " "), "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN"; got != want {
		t.Errorf("default mechanisms %q; want %q", got, want)
	}
	for _, m := range []string{"CRAM-MD5", "SCRAM-SHA-1"} {
		_, err := New(Config{UsersFile: users, Mechs: "SCRAM-SHA-256," + m}, nil)
		if !errors.Is(err, creds.ErrMisconfigured) || !strings.Contains(err.Error(), m) {
			t.Errorf("-mechs with %s: %v", m, err)
		}
	}
}

// TestFlags: the new flags parse into the Config, next to the old ones.
func TestFlags(t *testing.T) {
	c := DefaultConfig("127.0.0.1:1143")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.AddFlags(fs)
	if err := fs.Parse([]string{"-secret-file", "/tmp/s", "-max-verify", "4", "-max-conns", "7", "-insecure-auth"}); err != nil {
		t.Fatal(err)
	}
	if c.SecretFile != "/tmp/s" || c.MaxVerify != 4 || c.MaxConns != 7 || !c.InsecureAuth || c.Listen != "127.0.0.1:1143" {
		t.Errorf("config %+v", c)
	}
}

// TestMisconfigurationLogged: a misconfiguration met during an exchange is
// a temporary failure for the client, and an error, with its reason, in
// the server's log.
func TestMisconfigurationLogged(t *testing.T) {
	var log bytes.Buffer
	b, err := New(Config{}, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(b, "test", func(*Conn) {}, "busy")
	defer s.Close()
	nc, peer := net.Pipe()
	defer nc.Close()
	defer peer.Close()
	c := newConn(s, nc)
	misconfigured := &mech.Error{Mechanism: "OAUTHBEARER", Reason: "no subject", Err: creds.ErrMisconfigured}
	if o := c.finish("OAUTHBEARER", nil, misconfigured); o != Temporary {
		t.Errorf("outcome %v; want %v", o, Temporary)
	}
	if l := log.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "no subject") {
		t.Errorf("log %q: want an error with the reason", l)
	}
	log.Reset()
	if o := c.finish("PLAIN", nil, &mech.Error{Mechanism: "PLAIN", Err: creds.ErrBadCredentials}); o != AuthFailed {
		t.Errorf("bad credentials: outcome %v", o)
	}
	if l := log.String(); strings.Contains(l, "level=ERROR") || strings.Contains(l, "err=") {
		t.Errorf("a failed login logged as an error, or with its reason: %q", l)
	}
}

// TestSecretFileRace: servers starting together on one new secret file
// agree on one secret, and none fails on a file half written.
func TestSecretFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	const n = 16
	var wg sync.WaitGroup
	secrets := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secrets[i], errs[i] = LoadSecret(path, slog.New(slog.DiscardHandler))
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("server %d: %v", i, errs[i])
		}
		if !bytes.Equal(secrets[i], secrets[0]) || len(secrets[i]) != SecretSize {
			t.Fatalf("server %d has another secret", i)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file: %v, mode %v", err, fi.Mode())
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("%d files left, want the secret alone", len(ents))
	}
}

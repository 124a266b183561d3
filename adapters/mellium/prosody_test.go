package mellium_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/version"

	"github.com/saslkit/saslkit/adapters/mellium"
	"github.com/saslkit/saslkit/internal/interop"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// The Prosody account, on both virtual hosts.
const (
	prosodyUser     = "alice"
	prosodyPassword = "correct horse battery staple"
	wrongPassword   = "correct horse battery stapler"
	// sha1Host stores SCRAM-SHA-1 keys (Prosody's default password_hash),
	// sha256Host SCRAM-SHA-256 keys: Prosody 0.12 keeps one hash per host
	// and offers only that SCRAM.
	sha1Host   = "localhost"
	sha256Host = "sha256.localhost"
)

// prosody is a running Prosody server.
type prosody struct {
	addr  string
	roots *tls.Config
	out   *lockedBuffer
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startProsody runs Prosody in the foreground on a free loopback port, as
// user nobody when the test runs as root (Prosody refuses root), with the
// two virtual hosts and the account registered through prosodyctl. It is
// stopped by PID when the test ends.
func startProsody(t *testing.T) *prosody {
	t.Helper()
	interop.NeedTools(t, "prosody", "prosodyctl")
	dir := t.TempDir()
	cred := dropPrivileges(t, dir)
	for _, d := range []string{"data", "certs", "pki"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pki := testpki.New(t, filepath.Join(dir, "pki"))
	port := freePort(t)
	cfg := fmt.Sprintf(`-- written by saslkit's adapters/mellium tests
pidfile = %[1]q
data_path = %[2]q
certificates = %[3]q
interfaces = { "127.0.0.1" }
c2s_ports = { %[4]d }
c2s_direct_tls_ports = { }
s2s_ports = { }
http_ports = { }
https_ports = { }
admin_socket = %[5]q
modules_enabled = { "saslauth", "tls", "disco", "ping", "version" }
modules_disabled = { "s2s", "admin_socket" }
c2s_require_encryption = true
authentication = "internal_hashed"
log = { { levels = { min = "debug" }, to = "console" } }
ssl = { certificate = %[6]q, key = %[7]q }

VirtualHost %[8]q

VirtualHost %[9]q
	password_hash = "SHA-256"
`, filepath.Join(dir, "prosody.pid"), filepath.Join(dir, "data"), filepath.Join(dir, "certs"),
		port, filepath.Join(dir, "admin.sock"), pki.CertFile, pki.KeyFile, sha1Host, sha256Host)
	cfgFile := filepath.Join(dir, "prosody.cfg.lua")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	chownAll(t, dir, cred)

	for _, host := range []string{sha1Host, sha256Host} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "prosodyctl", "--config", cfgFile, "register", prosodyUser, host, prosodyPassword)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("prosodyctl register on %s: %v\n%s", host, err, out)
		}
	}

	out := &lockedBuffer{}
	cmd := exec.Command("prosody", "--config", cfgFile, "-F")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		pid := cmd.Process.Pid
		syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("prosody output:\n%s", out.String())
		}
	})

	p := &prosody{
		addr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		roots: &tls.Config{RootCAs: pki.Roots, ServerName: "localhost"},
		out:   out,
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-done:
			t.Fatalf("prosody exited before listening:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prosody not listening on %s after 20s:\n%s", p.addr, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dropPrivileges returns the credential to run Prosody with: nil when the
// test is not root, else user nobody's, after opening the path down to dir
// for it to traverse.
func dropPrivileges(t *testing.T, dir string) *syscall.Credential {
	t.Helper()
	if os.Getuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("running as root and no user nobody to run prosody as: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// t.TempDir's parent is private to root; nobody needs to pass through.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// chownAll gives dir and everything under it to cred's user.
func chownAll(t *testing.T, dir string, cred *syscall.Credential) {
	t.Helper()
	if cred == nil {
		return
	}
	err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// login connects to p as prosodyUser@host over STARTTLS with the TLS
// version pinned to tlsVersion, authenticates with mechs and binds a
// resource. On success it also asks the server for its software version
// (XEP-0092) and checks that Prosody answers.
func (p *prosody) login(ctx context.Context, t *testing.T, host string, tlsVersion uint16, password string, mechs ...sasl.Mechanism) error {
	t.Helper()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	tlsCfg := p.roots.Clone()
	tlsCfg.MinVersion, tlsCfg.MaxVersion = tlsVersion, tlsVersion
	origin := jid.MustParse(prosodyUser + "@" + host)
	s, err := xmpp.NewClientSession(ctx, origin, conn,
		xmpp.StartTLS(tlsCfg),
		xmpp.SASL("", password, mechs...),
		xmpp.BindResource(),
	)
	if err != nil {
		return err
	}
	defer s.Close()
	if got := s.ConnectionState().Version; got != tlsVersion {
		t.Errorf("TLS version %x, want %x", got, tlsVersion)
	}
	local := s.LocalAddr()
	if local.Bare().String() != origin.String() || local.Resourcepart() == "" {
		t.Errorf("bound JID %q, want %s/<resource>", local, origin)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.Serve(nil) }()
	q, err := version.Get(ctx, s, jid.MustParse(host))
	if err != nil {
		t.Fatalf("software version query after login: %v", err)
	}
	if q.Name != "Prosody" {
		t.Errorf("software version name %q, want Prosody", q.Name)
	}
	return nil
}

// saslFailure returns the <failure/> element the server sent, as XML, or
// "" if err is not one.
func saslFailure(err error) string {
	var f interface {
		error
		TokenReader() xml.TokenReader
	}
	if !errors.As(err, &f) {
		return ""
	}
	var b strings.Builder
	e := xml.NewEncoder(&b)
	if _, err := xmlstream.Copy(e, f.TokenReader()); err != nil {
		return ""
	}
	if err := e.Flush(); err != nil {
		return ""
	}
	return b.String()
}

// TestProsody logs in to a real Prosody 0.12 with saslkit's mechanisms
// through mellium's SASL feature, with the right and a wrong password.
func TestProsody(t *testing.T) {
	p := startProsody(t)
	sha1 := scram.Mechanism{Hash: scram.SHA1}
	sha256 := scram.Mechanism{Hash: scram.SHA256}
	tests := []struct {
		name string
		host string
		tls  uint16
		mech []mech.Client
		// gs2 is how the initial response starts: the GS2 header, or
		// PLAIN's empty authzid.
		gs2 string
	}{
		// TLS 1.3: Prosody has no channel binding (it knows only
		// tls-unique) and offers no -PLUS; the client has tls-exporter and
		// so sends the "y" flag, which such a server accepts.
		{"SCRAM-SHA-1", sha1Host, tls.VersionTLS13, []mech.Client{sha1}, "y,,"},
		{"SCRAM-SHA-256", sha256Host, tls.VersionTLS13, []mech.Client{sha256}, "y,,"},
		{"PLAIN", sha1Host, tls.VersionTLS13, []mech.Client{mech.Plain{}}, "\x00alice\x00"},
		{"PLAIN/sha256-host", sha256Host, tls.VersionTLS13, []mech.Client{mech.Plain{}}, "\x00alice\x00"},
		// TLS 1.2: Prosody offers SCRAM-SHA-*-PLUS with tls-unique.
		{"SCRAM-SHA-1-PLUS", sha1Host, tls.VersionTLS12, []mech.Client{scram.Mechanism{Hash: scram.SHA1, Plus: true}}, "p=tls-unique,,"},
		{"SCRAM-SHA-256-PLUS", sha256Host, tls.VersionTLS12, []mech.Client{scram.Mechanism{Hash: scram.SHA256, Plus: true}}, "p=tls-unique,,"},
		// The server offers -PLUS but the client runs plain SCRAM: it must
		// send "n", since Prosody refuses "y" when it has bindings.
		{"SCRAM-SHA-1/PLUS-offered", sha1Host, tls.VersionTLS12, []mech.Client{sha1}, "n,,"},
		{"SCRAM-SHA-256/PLUS-offered", sha256Host, tls.VersionTLS12, []mech.Client{sha256}, "n,,"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/right", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			mechs, sent := recorded(tt.mech)
			if err := p.login(ctx, t, tt.host, tt.tls, prosodyPassword, mechs...); err != nil {
				t.Fatalf("login with the right password: %v", err)
			}
			if got := sent(); !strings.HasPrefix(got, tt.gs2) {
				t.Errorf("initial response %q, want it to start with %q", got, tt.gs2)
			}
		})
		t.Run(tt.name+"/wrong", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			mechs, _ := recorded(tt.mech)
			err := p.login(ctx, t, tt.host, tt.tls, wrongPassword, mechs...)
			if err == nil {
				t.Fatal("login with a wrong password succeeded")
			}
			// Prosody itself refused the login, with not-authorized.
			f := saslFailure(err)
			if !strings.Contains(f, "<not-authorized") {
				t.Fatalf("error %v (%q), want a SASL <failure><not-authorized/>", err, f)
			}
			if strings.Contains(err.Error(), wrongPassword) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// recorded adapts ms and records the initial response the first of them
// to start sent.
func recorded(ms []mech.Client) (_ []sasl.Mechanism, sent func() string) {
	var (
		mu sync.Mutex // guards ir
		ir []byte
	)
	var out []sasl.Mechanism
	for _, m := range ms {
		a := mellium.Mechanism(m, nil)
		start := a.Start
		a.Start = func(n *sasl.Negotiator) (bool, []byte, interface{}, error) {
			more, resp, cache, err := start(n)
			mu.Lock()
			if ir == nil {
				ir = append([]byte{}, resp...)
			}
			mu.Unlock()
			return more, resp, cache, err
		}
		out = append(out, a)
	}
	return out, func() string {
		mu.Lock()
		defer mu.Unlock()
		return string(ir)
	}
}

// TestProsodyBindingType shows that Prosody 0.12 checks the channel-binding
// type: it has only tls-unique, and refuses a -PLUS exchange that names
// tls-server-end-point, whatever the password.
func TestProsodyBindingType(t *testing.T) {
	p := startProsody(t)
	m := mellium.Mechanism(scram.Mechanism{Hash: scram.SHA1, Plus: true},
		&mellium.Config{ChannelBinding: mech.TLSServerEndPoint})
	for _, pw := range []string{prosodyPassword, wrongPassword} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := p.login(ctx, t, sha1Host, tls.VersionTLS12, pw, m)
		cancel()
		if f := saslFailure(err); !strings.Contains(f, "<malformed-request") {
			t.Errorf("login naming tls-server-end-point: %v (%q), want <failure><malformed-request/>", err, f)
		}
	}
}

// otherChannel is a SCRAM client that binds to a channel other than its
// own, as a client behind a man in the middle who terminates TLS would:
// it flips a bit of each binding's data.
type otherChannel struct{ scram.Mechanism }

func (m otherChannel) ClientAttempt(ctx context.Context, in *mech.ClientInput) (mech.ClientResult, error) {
	ch := *in.Channel
	ch.Bindings = nil
	for _, b := range in.Channel.Bindings {
		d := append([]byte{}, b.Data...)
		d[0] ^= 1
		ch.Bindings = append(ch.Bindings, mech.Binding{Type: b.Type, Data: d})
	}
	in2 := *in
	in2.Channel = &ch
	return m.Mechanism.ClientAttempt(ctx, &in2)
}

// TestProsodyBindingData shows that Prosody checks the tls-unique data of
// a -PLUS exchange: a client bound to another channel is refused, with the
// right password too.
func TestProsodyBindingData(t *testing.T) {
	p := startProsody(t)
	m := mellium.Mechanism(otherChannel{scram.Mechanism{Hash: scram.SHA1, Plus: true}}, nil)
	for _, pw := range []string{prosodyPassword, wrongPassword} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := p.login(ctx, t, sha1Host, tls.VersionTLS12, pw, m)
		cancel()
		if f := saslFailure(err); !strings.Contains(f, "<malformed-request") {
			t.Errorf("login bound to another channel: %v (%q), want <failure><malformed-request/>", err, f)
		}
	}
}

package imapbench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// fakeIMAP is an in-process IMAP server for the load's client side: the
// greeting with SASL-IR, AUTHENTICATE run by a saslkit server session
// (SCRAM's v= as a last challenge, as IMAP needs), and LOGOUT.
type fakeIMAP struct {
	ln   net.Listener
	cfg  *session.Config
	tls  *tls.Config
	wg   sync.WaitGroup
	noIR bool // leave SASL-IR out of the greeting; set before it serves
}

func startFake(t *testing.T, tc *tls.Config, noIR bool, accts ...Account) *fakeIMAP {
	t.Helper()
	var store creds.MemoryStore
	for _, a := range accts {
		k, err := creds.DeriveSCRAMKeys("SHA-256", a.Password, nil, SCRAMIterations, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Add(creds.Account{Name: a.Name, Password: "{PLAIN}" + a.Password, SCRAM: []creds.SCRAMKeys{k}}); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIMAP{ln: ln, tls: tc, noIR: noIR, cfg: &session.Config{FinalAsChallenge: true, Verifier: &creds.Verifier{Store: &store}}}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if f.tls != nil {
					c = tls.Server(c, f.tls)
				}
				f.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeIMAP) serve(c net.Conn) {
	r := bufio.NewReader(c)
	send := func(l string) { c.Write([]byte(l + "\r\n")) }
	caps := "IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=SCRAM-SHA-256"
	if f.noIR {
		caps = "IMAP4rev1 AUTH=PLAIN AUTH=SCRAM-SHA-256"
	}
	send("* OK [CAPABILITY " + caps + "] fake ready")
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		fields := strings.Fields(l)
		if len(fields) < 2 {
			return
		}
		tag := fields[0]
		switch strings.ToUpper(fields[1]) {
		case "LOGOUT":
			send("* BYE bye")
			send(tag + " OK done")
			return
		case "AUTHENTICATE":
			var m mech.Server = mech.Plain{}
			if fields[2] == "SCRAM-SHA-256" {
				m = scram.Mechanism{}
			}
			s, err := session.NewServer(m, mech.Channel{}, f.cfg)
			if err != nil {
				send(tag + " NO " + err.Error())
				continue
			}
			ctx := context.Background()
			var step session.Step
			if len(fields) > 3 {
				ir, _ := session.Decode([]byte(fields[3]), 0)
				step, err = s.StartInitial(ctx, ir)
			} else {
				step, err = s.Start(ctx)
			}
			for err == nil && !step.Done {
				send("+ " + session.Encode(step.Challenge))
				l, rerr := r.ReadString('\n')
				if rerr != nil {
					return
				}
				resp, _ := session.Decode([]byte(strings.TrimRight(l, "\r\n")), 0)
				step, err = s.Next(ctx, resp)
			}
			if err != nil {
				send(tag + " NO [AUTHENTICATIONFAILED] no")
				continue
			}
			send(tag + " OK logged in")
		default:
			send(tag + " BAD what")
		}
	}
}

var accounts = []Account{{"alice", "pw-alice"}, {"bob", "pw-bob"}}

func TestLoadRun(t *testing.T) {
	dir := t.TempDir()
	pool, err := WriteCertificate(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	clientTLS := &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.X25519}}

	tests := []struct {
		name      string
		mechanism mech.Client
		tls       bool
		noIR      bool
		wrong     bool
	}{
		{name: "PLAIN", mechanism: mech.Plain{}},
		{name: "PLAIN without SASL-IR", mechanism: mech.Plain{}, noIR: true},
		{name: "PLAIN refused", mechanism: mech.Plain{}, wrong: true},
		{name: "SCRAM with a key cache", mechanism: scram.Mechanism{Cache: &scram.KeyCache{}}},
		{name: "SCRAM fresh", mechanism: scram.Mechanism{}},
		{name: "PLAIN over TLS", mechanism: mech.Plain{}, tls: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st *tls.Config
			if tc.tls {
				st = serverTLS
			}
			f := startFake(t, st, tc.noIR, accounts...)
			cpuCalls := 0
			l := &Load{
				Addr: f.ln.Addr().String(), Mechanism: tc.mechanism, Accounts: accounts, Wrong: tc.wrong,
				Conns: 3, Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond,
				ServerCPU: func() (time.Duration, error) { cpuCalls++; return time.Duration(cpuCalls) * time.Second, nil },
			}
			if tc.tls {
				l.TLS = clientTLS
			}
			r, err := l.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.Errors != 0 || r.Logins == 0 {
				t.Fatalf("logins %d, unexpected outcomes %d (first: %v); want some logins and none unexpected", r.Logins, r.Errors, r.Err)
			}
			if len(r.Latencies) != r.Logins {
				t.Errorf("%d latencies for %d logins", len(r.Latencies), r.Logins)
			}
			if r.Window < l.Duration || r.Window > l.Duration+100*time.Millisecond {
				t.Errorf("window %v; want about %v", r.Window, l.Duration)
			}
			if diff := cmp.Diff([]any{2, time.Second}, []any{cpuCalls, r.ServerCPU}); diff != "" {
				t.Errorf("ServerCPU calls and difference (-want +got):\n%s", diff)
			}
			want := TLSInfo{}
			if tc.tls {
				want = TLSInfo{Version: tls.VersionTLS13, CipherSuite: r.TLS.CipherSuite, Curve: tls.X25519}
			}
			if diff := cmp.Diff(want, r.TLS); diff != "" {
				t.Errorf("TLS (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadUnexpected(t *testing.T) {
	// carol's password is what the load sends for "x" when it means to be
	// wrong.
	f := startFake(t, nil, false, append(accounts, Account{"carol", "x" + wrongSuffix})...)
	tests := []struct {
		name  string
		accts []Account
		wrong bool
		want  string
	}{
		{"refused right password", []Account{{"alice", "not-her-password"}}, false, `AUTHENTICATE: "NO [AUTHENTICATIONFAILED] no"`},
		{"accepted wrong password", []Account{{"carol", "x"}}, true, `a wrong password was accepted: "OK logged in"`},
		{"refused wrong password", []Account{{"alice", "pw-alice"}}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &Load{Addr: f.ln.Addr().String(), Mechanism: mech.Plain{}, Accounts: tc.accts, Wrong: tc.wrong, Conns: 1, Duration: 100 * time.Millisecond}
			r, err := l.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if r.Errors != 0 {
					t.Fatalf("unexpected outcomes: %d (%v)", r.Errors, r.Err)
				}
				return
			}
			if r.Errors == 0 || r.Logins != 0 {
				t.Fatalf("logins %d, unexpected %d; want only unexpected outcomes", r.Logins, r.Errors)
			}
			if r.Err == nil || r.Err.Error() != tc.want {
				t.Errorf("first unexpected outcome %v; want %s", r.Err, tc.want)
			}
		})
	}

	// A server that is gone: every attempt fails, paced, and Run still ends.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	r, err := (&Load{Addr: addr, Mechanism: mech.Plain{}, Accounts: accounts, Conns: 2, Duration: 100 * time.Millisecond}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var op *net.OpError
	if r.Errors == 0 || r.Errors > 2*int(100*time.Millisecond/errorPause)+4 || !errors.As(r.Err, &op) {
		t.Errorf("against a closed port: %d unexpected outcomes, first %v; want a paced few connect errors", r.Errors, r.Err)
	}
}

func TestLoadConfig(t *testing.T) {
	good := Load{Addr: "127.0.0.1:1", Mechanism: mech.Plain{}, Accounts: accounts, Conns: 1, Duration: time.Millisecond}
	for name, change := range map[string]func(*Load){
		"no connections": func(l *Load) { l.Conns = 0 },
		"no duration":    func(l *Load) { l.Duration = 0 },
		"no accounts":    func(l *Load) { l.Accounts = nil },
		"no mechanism":   func(l *Load) { l.Mechanism = nil },
	} {
		t.Run(name, func(t *testing.T) {
			l := good
			change(&l)
			if _, err := l.Run(context.Background()); err == nil {
				t.Error("Run: nil error; want one")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := good
	l.Duration = time.Hour
	if _, err := l.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v; want context.Canceled", err)
	}
}

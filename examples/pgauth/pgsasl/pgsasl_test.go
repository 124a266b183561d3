package pgsasl

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/internal/interop"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/mech"
)

// testTimeout bounds each login and each peer program.
const testTimeout = 20 * time.Second

// served is the outcome of one connection to a front end.
type served struct {
	login *Login
	err   error
}

// frontEnd is a Server the test runs on a loopback port.
type frontEnd struct {
	addr    string
	port    string
	results chan served
}

// startFrontEnd serves keys (a keys file's text) with TLS from pki, or
// without TLS when pki is nil; leaf, if not nil, replaces the certificate
// the server binds to.
func startFrontEnd(t *testing.T, keys string, pki *testpki.PKI, leaf *x509.Certificate) *frontEnd {
	t.Helper()
	store, err := ReadKeys(strings.NewReader(keys))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ServerConfig{Verifier: &creds.Verifier{Store: store}, AuthTimeout: testTimeout, Logf: t.Logf}
	if pki != nil {
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{pki.Server}}
		cfg.Leaf = pki.Leaf
		if leaf != nil {
			cfg.Leaf = leaf
		}
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fe := &frontEnd{addr: ln.Addr().String(), results: make(chan served, 16)}
	_, fe.port, _ = net.SplitHostPort(fe.addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				l, err := srv.ServeConn(ctx, c)
				fe.results <- served{l, err}
			}()
		}
	}()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	return fe
}

// drain drops the outcomes of earlier connections, left by a test that
// failed before it read them.
func (fe *frontEnd) drain() {
	for {
		select {
		case <-fe.results:
		default:
			return
		}
	}
}

// result returns the outcome of the one connection a client made.
func (fe *frontEnd) result(t *testing.T) served {
	t.Helper()
	select {
	case r := <-fe.results:
		select {
		case r2 := <-fe.results:
			t.Errorf("a second connection: %+v", r2)
		case <-time.After(100 * time.Millisecond):
		}
		return r
	case <-time.After(testTimeout):
		t.Fatal("no connection reached the front end")
		return served{}
	}
}

// loginCase is one login, by psql, pgx or saslkit's client.
type loginCase struct {
	name     string
	user     string
	password string
	tls      bool
	cb       ChannelBinding
	// wantMech and wantCB are the mechanism and the GS2 header's flag
	// and binding type the server sees; wantFail a refused login.
	wantMech string
	wantFlag byte
	wantCB   string
	wantFail bool
	// pgxFails is a login pgx fails though the password is right: pgx
	// prepares passwords with PRECIS OpaqueString (RFC 8265), which keeps
	// "ﬁ", where PostgreSQL and saslkit use SASLprep (RFC 4013), which
	// maps it to "fi". It fails against PostgreSQL just the same.
	pgxFails bool
}

// loginCases are run by every client against the front end; the saslkit
// client runs them against PostgreSQL too.
var loginCases = []loginCase{
	{name: "plain/ok", user: "alice", password: alicePassword, wantMech: SCRAMSHA256, wantFlag: 'n'},
	{name: "plain/wrong", user: "alice", password: "wrong", wantFail: true},
	{name: "plain/unknown-user", user: "mallory", password: alicePassword, wantFail: true},
	{name: "tls/plus/ok", user: "alice", password: alicePassword, tls: true, cb: BindingRequire, wantMech: SCRAMSHA256Plus, wantFlag: 'p', wantCB: mech.TLSServerEndPoint},
	{name: "tls/plus/wrong", user: "alice", password: "wrong", tls: true, cb: BindingRequire, wantFail: true},
	{name: "tls/prefer/ok", user: "alice", password: alicePassword, tls: true, wantMech: SCRAMSHA256Plus, wantFlag: 'p', wantCB: mech.TLSServerEndPoint},
	{name: "tls/disable/ok", user: "alice", password: alicePassword, tls: true, cb: BindingDisable, wantMech: SCRAMSHA256, wantFlag: 'n'},
	{name: "tls/disable/wrong", user: "alice", password: "wrong", tls: true, cb: BindingDisable, wantFail: true},
	// PostgreSQL derived carol's keys from "ﬁsh-3" prepared with
	// SASLprep, "fish-3": both spellings log in, neither without SASLprep.
	{name: "saslprep/ok", user: "carol", password: carolPassword, wantMech: SCRAMSHA256, wantFlag: 'n', pgxFails: true},
	{name: "saslprep/mapped", user: "carol", password: "fish-3", wantMech: SCRAMSHA256, wantFlag: 'n'},
	{name: "saslprep/wrong", user: "carol", password: "fish-4", wantFail: true},
}

// libpqBinding is a policy's channel_binding value.
func libpqBinding(cb ChannelBinding) string {
	return [...]string{BindingPrefer: "prefer", BindingRequire: "require", BindingDisable: "disable"}[cb]
}

// checkServed checks what the front end saw of a case's one connection.
func checkServed(t *testing.T, fe *frontEnd, tc loginCase) {
	t.Helper()
	r := fe.result(t)
	if tc.wantFail {
		if !errors.Is(r.err, ErrAuthFailed) {
			t.Errorf("front end: got %v, want an error wrapping ErrAuthFailed", r.err)
		}
		return
	}
	if r.err != nil || r.login == nil {
		t.Fatalf("front end: %v", r.err)
	}
	got := []string{r.login.Principal.Account(), r.login.Mechanism, string(r.login.CBFlag), r.login.CBName, fmt.Sprint(r.login.TLS != nil)}
	want := []string{tc.user, tc.wantMech, string(tc.wantFlag), tc.wantCB, fmt.Sprint(tc.tls)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("front end login: account, mechanism, flag, binding, TLS (-want +got):\n%s", d)
	}
}

// failedMessage is what PostgreSQL says of every failed SCRAM login.
func failedMessage(user string) string {
	return `password authentication failed for user "` + user + `"`
}

// runPSQL runs psql against addr with conninfo options and the password in
// PGPASSWORD, and returns its output.
func runPSQL(ctx context.Context, port string, tc loginCase) (stdout, stderr string, err error) {
	sslmode := "disable"
	if tc.tls {
		sslmode = "require"
	}
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%s user=%s dbname=%s sslmode=%s channel_binding=%s",
		port, tc.user, tc.user, sslmode, libpqBinding(tc.cb))
	cmd := exec.CommandContext(ctx, "psql", "-X", "-w", "-At", "-c", "SELECT current_user", conninfo)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + tc.password, "PGCONNECT_TIMEOUT=10", "PGCLIENTENCODING=UTF8"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// TestPostgreSQL runs psql and pgx against the front end, with the keys of
// a real PostgreSQL 15's pg_authid, and saslkit's client against that
// PostgreSQL and against the front end, which must answer alike.
func TestPostgreSQL(t *testing.T) {
	c := startCluster(t)
	fe := startFrontEnd(t, c.Keys, c.pki, nil)

	t.Run("psql", func(t *testing.T) {
		for _, tc := range loginCases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				fe.drain()
				out, stderr, err := runPSQL(ctx, fe.port, tc)
				if tc.wantFail {
					want := "FATAL:  " + failedMessage(tc.user)
					if err == nil || !strings.Contains(stderr, want) {
						t.Errorf("psql: %v, stderr %q; want a failure saying %q", err, stderr, want)
					}
				} else if err != nil || out != tc.user+"\n" {
					t.Errorf("psql: %v, stdout %q, stderr %q; want %q", err, out, stderr, tc.user+"\n")
				}
				checkServed(t, fe, tc)
			})
		}
	})

	t.Run("psql/impostor", func(t *testing.T) {
		// A front end that binds to another certificate than the one it
		// presents is a man in the middle: psql's binding differs.
		imp := c.pki.Impostor(t, "impostor")
		leaf, err := x509.ParseCertificate(imp.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		mitm := startFrontEnd(t, c.Keys, c.pki, leaf)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		tc := loginCase{user: "alice", password: alicePassword, tls: true, cb: BindingRequire}
		_, stderr, err := runPSQL(ctx, mitm.port, tc)
		if err == nil || !strings.Contains(stderr, failedMessage("alice")) {
			t.Errorf("psql: %v, stderr %q; want a failed login", err, stderr)
		}
		if r := mitm.result(t); !errors.Is(r.err, mech.ErrAuthFailed) {
			t.Errorf("front end: got %v, want channel bindings that differ (mech.ErrAuthFailed)", r.err)
		}
	})

	t.Run("pgx/frontend", func(t *testing.T) {
		testPGX(t, fe.port, fe, c.pki)
	})
	t.Run("pgx/postgres", func(t *testing.T) {
		testPGX(t, strconv.Itoa(c.Port()), nil, c.pki)
	})

	t.Run("client", func(t *testing.T) {
		for _, tc := range loginCases {
			t.Run("postgres/"+tc.name, func(t *testing.T) {
				testClient(t, c.Addr(), c.pki, tc, nil)
			})
			t.Run("frontend/"+tc.name, func(t *testing.T) {
				testClient(t, fe.addr, c.pki, tc, fe)
			})
		}
	})
}

// testPGX logs in with pgx to port on 127.0.0.1, PostgreSQL's or the front
// end fe's, over TLS with channel binding as pgx does it.
func testPGX(t *testing.T, port string, fe *frontEnd, pki *testpki.PKI) {
	for _, tc := range loginCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if fe != nil {
				fe.drain()
			}
			if tc.pgxFails {
				tc.wantFail = true
			}
			ssl := "sslmode=disable"
			if tc.tls {
				ssl = "sslmode=verify-full sslrootcert=" + pki.CAFile
			}
			dsn := fmt.Sprintf("host=127.0.0.1 port=%s user=%s password=%s dbname=%s %s channel_binding=%s connect_timeout=10",
				port, tc.user, tc.password, tc.user, ssl, libpqBinding(tc.cb))
			conn, err := pgx.Connect(ctx, dsn)
			if tc.wantFail {
				var pe *pgconn.PgError
				if !errors.As(err, &pe) {
					t.Fatalf("pgx: %v, want a server error", err)
				}
				got := []string{pe.Severity, pe.Code, pe.Message}
				want := []string{"FATAL", CodeInvalidPassword, failedMessage(tc.user)}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("pgx error (-want +got):\n%s", d)
				}
				if fe != nil {
					checkServed(t, fe, tc)
				}
				return
			}
			if err != nil {
				t.Fatalf("pgx: %v", err)
			}
			res, err := conn.PgConn().Exec(ctx, "SELECT current_user").ReadAll()
			conn.Close(ctx)
			if err != nil {
				t.Fatalf("pgx query: %v", err)
			}
			if len(res) != 1 || len(res[0].Rows) != 1 || string(res[0].Rows[0][0]) != tc.user {
				t.Errorf("pgx: SELECT current_user gave %v, want %q", res, tc.user)
			}
			if fe != nil {
				checkServed(t, fe, tc)
			}
		})
	}
}

// testClient logs in with saslkit's client to addr: PostgreSQL, or the
// front end fe.
func testClient(t *testing.T, addr string, pki *testpki.PKI, tc loginCase, fe *frontEnd) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if fe != nil {
		fe.drain()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ClientConfig{User: tc.user, Password: tc.password, ChannelBinding: tc.cb}
	if tc.tls {
		cfg.TLS = &tls.Config{RootCAs: pki.Roots, ServerName: "localhost"}
	}
	conn, err := Connect(ctx, nc, cfg)
	if tc.wantFail {
		var se *ServerError
		if !errors.As(err, &se) {
			t.Fatalf("Connect: %v, want a *ServerError", err)
		}
		want := &ServerError{Severity: "FATAL", Code: CodeInvalidPassword, Message: failedMessage(tc.user)}
		if d := cmp.Diff(want, se); d != "" {
			t.Errorf("server error (-want +got):\n%s", d)
		}
	} else {
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		offered := []string{SCRAMSHA256}
		if tc.tls {
			offered = []string{SCRAMSHA256Plus, SCRAMSHA256}
		}
		got := []string{conn.Mechanism, conn.CBName, conn.Params["session_authorization"], strings.Join(conn.Offered, " ")}
		want := []string{tc.wantMech, tc.wantCB, tc.user, strings.Join(offered, " ")}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("mechanism, binding, session_authorization, offered (-want +got):\n%s", d)
		}
		rows, err := conn.Query(ctx, "SELECT current_user")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([][]string{{tc.user}}, rows); d != "" {
			t.Errorf("SELECT current_user (-want +got):\n%s", d)
		}
		if err := conn.Close(); err != nil {
			t.Error(err)
		}
	}
	if fe != nil {
		checkServed(t, fe, tc)
	}
}

// derivedKeys are keys files made with saslkit, for the tests that need no
// PostgreSQL.
func derivedKeys(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, a := range []struct{ user, password, salt string }{
		{"alice", alicePassword, "salt-of-alice"},
		{"carol", carolPassword, "salt-of-carol"},
	} {
		k, err := creds.DeriveSCRAMKeys("SHA-256", a.password, []byte(a.salt), 4096, false)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%s\n", a.user, k.RFC5803())
	}
	return b.String()
}

// TestFrontEnd runs pgx, saslkit's client and, when installed, psql
// against the front end with keys saslkit derived: it needs no PostgreSQL.
func TestFrontEnd(t *testing.T) {
	pki := testpki.New(t, "")
	fe := startFrontEnd(t, derivedKeys(t), pki, nil)
	t.Run("pgx", func(t *testing.T) { testPGX(t, fe.port, fe, pki) })
	t.Run("client", func(t *testing.T) {
		for _, tc := range loginCases {
			t.Run(tc.name, func(t *testing.T) { testClient(t, fe.addr, pki, tc, fe) })
		}
	})
	t.Run("psql", func(t *testing.T) {
		interop.NeedTools(t, "psql")
		for _, tc := range loginCases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				fe.drain()
				out, stderr, err := runPSQL(ctx, fe.port, tc)
				if tc.wantFail != (err != nil) || !tc.wantFail && out != tc.user+"\n" {
					t.Errorf("psql: %v, stdout %q, stderr %q", err, out, stderr)
				}
				checkServed(t, fe, tc)
			})
		}
	})
}

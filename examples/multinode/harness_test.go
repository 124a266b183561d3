package main

// The test harness: a PostgreSQL 15 cluster and a redis-server, each run as
// an unprivileged user on a private loopback port and stopped by PID
// (internal/pgtest and internal/redistest), this program built once and
// run as node processes, and an IMAP client.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/internal/pgtest"
	"github.com/saslkit/saslkit/internal/redistest"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
	"github.com/saslkit/saslkit/store/postgres"
)

// The cluster's roles and their passwords: the role the nodes (and the
// test, as an administrator) use, which owns the schema, and Dovecot's,
// which may only read the accounts.
const (
	appRole         = "saslkit"
	appPassword     = "app-Secret-2"
	dovecotRole     = "dovecot"
	dovecotPassword = "dovecot-Secret-3"
)

// syncBuffer collects a process's output; it is safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a process a test started (a node), stopped by its PID.
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

// startProc starts cmd in a process group of its own, which the kernel
// signals with sig if the test binary dies first.
func startProc(name string, cmd *exec.Cmd, log *syncBuffer, sig syscall.Signal) (*proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = sig
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{}), log: log}
	go func() { cmd.Wait(); close(p.exited) }()
	return p, nil
}

// stop sends sig to the process by its PID and waits for it to exit; after
// 10 s it kills its process group. A process that has exited is left
// alone.
func (p *proc) stop(sig syscall.Signal) {
	if p == nil {
		return
	}
	select {
	case <-p.exited: // reaped: its PID may be another's now
		return
	default:
	}
	syscall.Kill(p.cmd.Process.Pid, sig)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// waitFor polls until cond holds, the process exits or d passes.
func (p *proc) waitFor(d time.Duration, what string, cond func() bool) error {
	deadline := time.After(d)
	for !cond() {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before %s:\n%s", p.name, what, p.log)
		case <-deadline:
			return fmt.Errorf("%s: no %s after %v:\n%s", p.name, what, d, p.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// cluster is a PostgreSQL cluster a test started (internal/pgtest).
type cluster struct{ *pgtest.Cluster }

// startCluster starts a cluster and makes the roles: appRole, who may
// create schemas in the database "postgres", and dovecotRole. It is
// stopped when tb ends. It skips tb, naming what is missing, when
// PostgreSQL 15 is not installed.
func startCluster(tb testing.TB) *cluster {
	tb.Helper()
	c := &cluster{pgtest.Start(tb, &pgtest.Options{Settings: []string{"shared_buffers=32MB", "max_connections=100"}})}
	c.Exec(tb,
		`CREATE ROLE `+appRole+` LOGIN PASSWORD '`+appPassword+`'`,
		`GRANT CREATE ON DATABASE postgres TO `+appRole,
		`CREATE ROLE `+dovecotRole+` LOGIN PASSWORD '`+dovecotPassword+`'`)
	return c
}

// dsn is a connection string of role over TCP, without its password.
func (c *cluster) dsn(role string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=postgres sslmode=disable connect_timeout=2", c.Port(), role)
}

// adminStore opens the store as an administration tool would, as appRole.
func (c *cluster) adminStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, c.dsn(appRole)+" password="+appPassword, &postgres.Config{ProfileRefresh: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// redisServer is a redis-server the test started (internal/redistest),
// without persistence.
type redisServer struct{ *redistest.Server }

// startRedis starts a redis-server, stopped when tb ends. It skips tb,
// naming redis-server, if it is not installed.
func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	return &redisServer{redistest.Start(tb, &redistest.Options{Config: []string{"loglevel warning"}})}
}

// client returns a client of the server; the caller closes it.
func (s *redisServer) client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: s.Addr(),
		MaxRetries: -1, DialTimeout: time.Second, ContextTimeoutEnabled: true})
}

// flush forgets every failure the limiter holds, as an administrator
// unlocking accounts would.
func (s *redisServer) flush(tb testing.TB) {
	tb.Helper()
	c := s.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.FlushAll(ctx).Err(); err != nil {
		tb.Fatal(err)
	}
}

// The program, built once per test binary.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// binary returns the path of this program, built on first use into a
// temporary directory that TestMain removes.
func binary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			built.err = err
			return
		}
		if built.dir, built.err = os.MkdirTemp("", "saslkit-multinode-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "multinode")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, goBin, "build", "-o", built.bin, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// node is one running process of this program.
type node struct {
	addr string
	p    *proc
}

var bannerRE = regexp.MustCompile(`imap listening on (\S+) \(STARTTLS\)`)

// startNode runs the program with args (and -listen on a loopback port of
// the system's choosing) with the password of appRole in PGPASSWORD, and
// waits for its banner. It is stopped, by PID, when tb ends.
func startNode(tb testing.TB, args ...string) *node {
	tb.Helper()
	cmd := exec.Command(binary(tb), append([]string{"-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + appPassword}
	p, err := startProc("node", cmd, &syncBuffer{}, syscall.SIGKILL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if tb.Failed() {
			tb.Logf("node %v output:\n%s", args, p.log)
		}
	})
	n := &node{p: p}
	err = p.waitFor(30*time.Second, "banner", func() bool {
		m := bannerRE.FindStringSubmatch(p.log.String())
		if m != nil {
			n.addr = m[1]
		}
		return m != nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// The IMAP client. Each function dials a fresh connection and closes it,
// and returns errors rather than failing a test, for benchmarks' parallel
// goroutines.

// clientTimeout bounds one connection of the client.
const clientTimeout = 15 * time.Second

type imapConn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dialIMAP(addr string) (*imapConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(clientTimeout))
	c := &imapConn{nc: nc, r: bufio.NewReader(nc)}
	g, err := c.line()
	if err != nil {
		nc.Close()
		return nil, err
	}
	if !strings.HasPrefix(g, "* OK") {
		nc.Close()
		return nil, fmt.Errorf("greeting %q", g)
	}
	return c, nil
}

func (c *imapConn) line() (string, error) {
	l, err := c.r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n"), nil
}

func (c *imapConn) send(line string) error {
	_, err := c.nc.Write([]byte(line + "\r\n"))
	return err
}

// tagged reads lines until the one tagged tag, and returns it without the
// tag.
func (c *imapConn) tagged(tag string) (string, error) {
	for {
		l, err := c.line()
		if err != nil {
			return "", err
		}
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			return rest, nil
		}
		if strings.HasPrefix(l, "* BYE") {
			return "", fmt.Errorf("BYE: %q", l)
		}
	}
}

// quote returns s as an IMAP quoted string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// login runs LOGIN on a fresh connection and returns the tagged reply
// without its tag, and how long the server took to give it.
func login(addr, user, password string) (string, time.Duration, error) {
	c, err := dialIMAP(addr)
	if err != nil {
		return "", 0, err
	}
	defer c.nc.Close()
	start := time.Now()
	if err := c.send("a LOGIN " + quote(user) + " " + quote(password)); err != nil {
		return "", 0, err
	}
	st, err := c.tagged("a")
	return st, time.Since(start), err
}

// authenticate runs AUTHENTICATE with a SCRAM-SHA-256 client session of
// the library on a fresh connection, and returns the tagged reply without
// its tag. After an OK it checks that the client accepts the server's
// signature (v=): the server proved it holds the account's keys.
func authenticate(addr, user, password string) (string, error) {
	c, err := dialIMAP(addr)
	if err != nil {
		return "", err
	}
	defer c.nc.Close()
	m, _ := registry.Builtin("SCRAM-SHA-256")
	s := session.NewClient(m.(mech.Client), creds.Client{Authcid: user, Password: password}, mech.Channel{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	ir, _, err := s.Start(ctx)
	if err != nil {
		return "", err
	}
	if err := c.send("s AUTHENTICATE SCRAM-SHA-256 " + session.Encode(ir)); err != nil {
		return "", err
	}
	for {
		l, err := c.line()
		if err != nil {
			return "", err
		}
		switch {
		case l == "+" || strings.HasPrefix(l, "+ "):
			msg, err := session.Decode([]byte(strings.TrimSpace(strings.TrimPrefix(l, "+"))), 0)
			if err != nil {
				return "", fmt.Errorf("challenge %q: %w", l, err)
			}
			resp, err := s.Next(ctx, msg)
			if err != nil {
				c.send("*")
				continue
			}
			if err := c.send(session.Encode(resp)); err != nil {
				return "", err
			}
		case strings.HasPrefix(l, "s "):
			st := strings.TrimPrefix(l, "s ")
			if strings.HasPrefix(st, "OK") {
				if err := s.Success(ctx); err != nil {
					return st, fmt.Errorf("the client refuses the server's success: %w", err)
				}
			}
			return st, nil
		case strings.HasPrefix(l, "* BYE"):
			return "", fmt.Errorf("BYE: %q", l)
		}
	}
}

// Replies, as the tagged status starts.
const (
	replyOK          = "OK"
	replyAuthFailed  = "NO [AUTHENTICATIONFAILED]"
	replyUnavailable = "NO [UNAVAILABLE]"
)

// reply returns the first word or response code of a tagged status: "OK",
// "NO [AUTHENTICATIONFAILED]", ...
func reply(status string) string {
	f := strings.Fields(status)
	switch {
	case len(f) == 0:
		return ""
	case f[0] == "OK":
		return "OK"
	case len(f) > 1 && strings.HasPrefix(f[1], "["):
		if i := strings.IndexByte(f[1], ']'); i > 0 {
			return f[0] + " " + f[1][:i+1]
		}
	}
	return f[0]
}

// The accounts: bcrypt cost 4 in the "$2y$" form, which both creds/hash
// and Dovecot's BLF-CRYPT read, and SCRAM-SHA-256 keys of 4096 iterations.

// account is a test account and its current password.
type account struct {
	name, password string
}

// bcrypt4 is the hasher of the accounts' passwords.
var bcrypt4 = hash.Bcrypt{Cost: 4}

// record returns the account as the store keeps it: the password hashed,
// "$2y$" rather than golang.org/x/crypto's "$2a$" (the same hash), and
// SCRAM-SHA-256 keys.
func (a account) record() (creds.Account, error) {
	enc, err := creds.HashPassword(a.password, bcrypt4)
	if err != nil {
		return creds.Account{}, err
	}
	if !strings.HasPrefix(enc, "$2a$") {
		return creds.Account{}, fmt.Errorf("bcrypt hash %.4q…, want $2a$", enc)
	}
	enc = "$2y$" + strings.TrimPrefix(enc, "$2a$")
	salt := []byte("salt:" + a.name + ":" + a.password)
	if len(salt) > 32 {
		salt = salt[:32]
	}
	k, err := creds.DeriveSCRAMKeys("SHA-256", a.password, salt, 4096, false)
	if err != nil {
		return creds.Account{}, err
	}
	return creds.Account{Name: a.name, Password: enc, SCRAM: []creds.SCRAMKeys{k}}, nil
}

// makeAccounts returns n accounts named prefix00, prefix01, ...
func makeAccounts(prefix string, n int) []account {
	as := make([]account, n)
	for i := range as {
		as[i] = account{name: fmt.Sprintf("%s%02d", prefix, i), password: fmt.Sprintf("pw-%s%02d-%d", prefix, i, i*7919)}
	}
	return as
}

// setAccounts writes accounts through the store.
func setAccounts(tb testing.TB, s *postgres.Store, as ...account) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range as {
		rec, err := a.record()
		if err != nil {
			tb.Fatal(err)
		}
		if err := s.SetAccount(ctx, rec); err != nil {
			tb.Fatalf("SetAccount(%q): %v", a.name, err)
		}
	}
}

// migrateSchema runs the program's -migrate.
func migrateSchema(tb testing.TB, c *cluster) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(tb), "-pg", c.dsn(appRole), "-migrate")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + appPassword}
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("-migrate: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "up to date") {
		tb.Fatalf("-migrate said %q", out)
	}
}

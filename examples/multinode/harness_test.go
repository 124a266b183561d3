package main

// The test harness: a PostgreSQL 15 cluster and a redis-server, each run as
// an unprivileged user on a private loopback port and stopped by PID (the
// approach of store/postgres's cluster_test.go and limit/redis's
// server_test.go), this program built once and run as node processes, and
// an IMAP client.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/internal/interop"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
	"github.com/saslkit/saslkit/store/postgres"
)

// pgBin is where Debian's postgresql-15 package puts initdb and postgres.
const pgBin = "/usr/lib/postgresql/15/bin"

// The cluster's roles and their passwords: the superuser, the role the
// nodes (and the test, as an administrator) use, which owns the schema, and
// Dovecot's, which may only read the accounts.
const (
	superPassword   = "super-Secret-1"
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

// runAs returns the credential of the first of names that exists, to run
// a server with when the test runs as root (nil otherwise); it skips tb if
// there is none.
func runAs(tb testing.TB, names ...string) *syscall.Credential {
	tb.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	for _, name := range names {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	tb.Skipf("running as root, and none of the users %v to run the server as", names)
	return nil
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

// serverDir makes a directory under a fresh temporary directory of tb,
// owned by cred, which the unprivileged user can reach.
func serverDir(tb testing.TB, name string, cred *syscall.Credential) string {
	tb.Helper()
	base := tb.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	chown(tb, cred, dir)
	return dir
}

func chown(tb testing.TB, cred *syscall.Credential, paths ...string) {
	tb.Helper()
	if cred == nil {
		return
	}
	for _, p := range paths {
		if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
			tb.Fatal(err)
		}
	}
}

// proc is a server process a test started, stopped by its PID.
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
// 10 s it kills its process group.
func (p *proc) stop(sig syscall.Signal) {
	if p == nil {
		return
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

// cluster is a PostgreSQL cluster a test started.
type cluster struct {
	dir, data string
	port      int
	cred      *syscall.Credential
	log       *syncBuffer

	mu sync.Mutex // guards pg
	pg *proc
}

// startCluster runs initdb and postgres, and makes the roles: appRole, who
// may create schemas in the database "postgres", and dovecotRole. It is
// stopped when tb ends. It skips tb, naming what is missing, when
// PostgreSQL 15 is not installed.
func startCluster(tb testing.TB) *cluster {
	tb.Helper()
	for _, tool := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(pgBin, tool)); err != nil {
			tb.Skipf("%s not installed (%s, Debian package postgresql-15)", tool, pgBin)
		}
	}
	cred := runAs(tb, "postgres", "nobody")
	dir := serverDir(tb, "pg", cred)
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(superPassword+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	chown(tb, cred, pw)
	c := &cluster{dir: dir, data: filepath.Join(dir, "data"), port: freePort(tb), cred: cred, log: &syncBuffer{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(pgBin, "initdb"), "-D", c.data, "-U", "postgres",
		"--auth=scram-sha-256", "--pwfile="+pw, "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	hba := filepath.Join(c.data, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte("local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	chown(tb, cred, hba)
	tb.Cleanup(func() {
		c.stop(syscall.SIGINT)
		if tb.Failed() {
			tb.Logf("postgres log:\n%s", c.log)
		}
	})
	if err := c.start(); err != nil {
		tb.Fatal(err)
	}
	c.exec(tb, "postgres",
		`CREATE ROLE `+appRole+` LOGIN PASSWORD '`+appPassword+`'`,
		`GRANT CREATE ON DATABASE postgres TO `+appRole,
		`CREATE ROLE `+dovecotRole+` LOGIN PASSWORD '`+dovecotPassword+`'`)
	return c
}

// start starts postgres (again, on the same port) and waits until it
// accepts connections.
func (c *cluster) start() error {
	cmd := exec.Command(filepath.Join(pgBin, "postgres"), "-D", c.data, "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "password_encryption=scram-sha-256",
		"-c", "fsync=off", "-c", "shared_buffers=32MB", "-c", "max_connections=100",
		"-c", "logging_collector=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	mark := len(c.log.String())
	pg, err := startProc("postgres", cmd, c.log, syscall.SIGQUIT)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pg = pg
	c.mu.Unlock()
	err = pg.waitFor(60*time.Second, "readiness", func() bool {
		return strings.Contains(c.log.String()[mark:], "database system is ready to accept connections")
	})
	if err != nil {
		pg.stop(syscall.SIGKILL)
	}
	return err
}

// stop stops postgres with sig (SIGINT: fast shutdown; SIGQUIT: immediate,
// as in a crash) and waits for it to exit.
func (c *cluster) stop(sig syscall.Signal) {
	c.mu.Lock()
	pg := c.pg
	c.pg = nil
	c.mu.Unlock()
	pg.stop(sig)
}

// dsn is a connection string of role over TCP, without its password.
func (c *cluster) dsn(role string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=postgres sslmode=disable connect_timeout=2", c.port, role)
}

// exec runs statements as role ("postgres", the superuser, or appRole) on
// one connection.
func (c *cluster) exec(tb testing.TB, role string, stmts ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pw := map[string]string{"postgres": superPassword, appRole: appPassword}[role]
	conn, err := pgx.Connect(ctx, c.dsn(role)+" password="+pw)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
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

// redisServer is a redis-server the test started, without persistence.
type redisServer struct {
	bin, conf string
	port      int
	cred      *syscall.Credential
	log       *syncBuffer

	mu sync.Mutex // guards p
	p  *proc
}

// startRedis starts a redis-server, stopped when tb ends. It skips tb,
// naming redis-server, if it is not installed.
func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	bin := interop.NeedTools(tb, "redis-server")[0]
	cred := runAs(tb, "redis", "nobody")
	dir := serverDir(tb, "redis", cred)
	s := &redisServer{bin: bin, port: freePort(tb), cred: cred, log: &syncBuffer{}}
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode yes\nsave \"\"\nappendonly no\n"+
		"dir %s\ndaemonize no\nlogfile \"\"\nloglevel warning\n", s.port, dir)
	s.conf = filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	chown(tb, cred, s.conf)
	tb.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if tb.Failed() {
			tb.Logf("redis-server log:\n%s", s.log)
		}
	})
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// URL returns the server's redis:// URL.
func (s *redisServer) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(s.port) }

// start starts the server (again, on the same port) and waits until it
// answers PING.
func (s *redisServer) start() error {
	cmd := exec.Command(s.bin, s.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	p, err := startProc("redis-server", cmd, s.log, syscall.SIGKILL)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.p = p
	s.mu.Unlock()
	c := s.client()
	defer c.Close()
	err = p.waitFor(10*time.Second, "PING reply", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	})
	if err != nil {
		p.stop(syscall.SIGKILL)
	}
	return err
}

// stop stops the server with sig (SIGKILL: as a crash would) and waits
// for it to exit.
func (s *redisServer) stop(sig syscall.Signal) {
	s.mu.Lock()
	p := s.p
	s.p = nil
	s.mu.Unlock()
	p.stop(sig)
}

// client returns a client of the server; the caller closes it.
func (s *redisServer) client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: strings.TrimPrefix(s.URL(), "redis://"),
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

package postgres

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saslkit/saslkit/creds"
)

// The test clusters are PostgreSQL 15 from Debian's postgresql-15 package,
// started by the tests as an unprivileged user in a temporary directory,
// on a private port with its Unix socket in that directory, and stopped by
// PID. The approach is examples/pgauth/pgsasl's cluster_test.go's.

// pgBin is where Debian's postgresql-15 package puts initdb and postgres.
const pgBin = "/usr/lib/postgresql/15/bin"

// superPassword is the test clusters' superuser password.
const superPassword = "super-Secret-1"

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

// cluster is a PostgreSQL cluster a test started.
type cluster struct {
	dir, data string
	port      int
	cred      *syscall.Credential
	log       *syncBuffer

	mu     sync.Mutex // guards pg and exited
	pg     *exec.Cmd
	exited chan struct{}
}

// needPostgres skips tb, naming what is missing, when the cluster cannot
// be run, and returns the credential to run initdb and postgres with
// (nil when not root: they refuse to run as root).
func needPostgres(tb testing.TB) *syscall.Credential {
	tb.Helper()
	for _, tool := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(pgBin, tool)); err != nil {
			tb.Skipf("%s not installed (%s, Debian package postgresql-15)", tool, pgBin)
		}
	}
	if os.Geteuid() != 0 {
		return nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	tb.Skip("running as root, and no postgres or nobody user to run PostgreSQL as")
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// newCluster runs initdb in base (which it makes reachable by the
// unprivileged user) and starts postgres.
func newCluster(base string, cred *syscall.Credential) (*cluster, error) {
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(base, "pg")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(superPassword+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, pw} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, data: filepath.Join(dir, "data"), port: port, cred: cred, log: &syncBuffer{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(pgBin, "initdb"), "-D", c.data, "-U", "postgres",
		"--auth=scram-sha-256", "--pwfile="+pw, "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	hba := "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(c.data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(filepath.Join(c.data, "pg_hba.conf"), int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	return c, c.start()
}

// start starts postgres on the cluster's data directory and port, and
// waits until it accepts connections.
func (c *cluster) start() error {
	pg := exec.Command(filepath.Join(pgBin, "postgres"), "-D", c.data, "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "password_encryption=scram-sha-256",
		"-c", "fsync=off",
		"-c", "shared_buffers=16MB", "-c", "max_connections=60",
		"-c", "logging_collector=off")
	// Pdeathsig: if the test binary dies before it stops postgres (a
	// panic, a timeout), the kernel shuts postgres down.
	pg.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	pg.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	mark := len(c.log.String())
	pg.Stdout, pg.Stderr = c.log, c.log
	if err := pg.Start(); err != nil {
		return fmt.Errorf("postgres: %v", err)
	}
	exited := make(chan struct{})
	go func() { pg.Wait(); close(exited) }()
	c.mu.Lock()
	c.pg, c.exited = pg, exited
	c.mu.Unlock()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(c.log.String()[mark:], "database system is ready to accept connections") {
		select {
		case <-exited:
			return fmt.Errorf("postgres exited:\n%s", c.log)
		case <-deadline:
			c.stop(syscall.SIGKILL)
			return fmt.Errorf("postgres did not start:\n%s", c.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// stop sends sig to postgres by its PID (SIGINT: fast shutdown, SIGQUIT:
// immediate, as in a crash) and waits for it to exit; after 10 s it kills
// its process group.
func (c *cluster) stop(sig syscall.Signal) {
	c.mu.Lock()
	pg, exited := c.pg, c.exited
	c.mu.Unlock()
	if pg == nil {
		return
	}
	syscall.Kill(pg.Process.Pid, sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pg.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// dsn is the connection string of the superuser over the Unix socket.
func (c *cluster) dsn() string {
	return fmt.Sprintf("host=%s port=%d user=postgres password=%s dbname=postgres sslmode=disable pool_max_conns=8 connect_timeout=5",
		c.dir, c.port, superPassword)
}

// shared is the cluster most tests share, started on first use and
// stopped by TestMain.
var shared struct {
	once sync.Once
	base string
	c    *cluster
	pool *pgxpool.Pool
	err  error
}

// sharedCluster returns the shared cluster and a superuser pool on it,
// starting it on first use.
func sharedCluster(tb testing.TB) (*cluster, *pgxpool.Pool) {
	tb.Helper()
	cred := needPostgres(tb)
	shared.once.Do(func() {
		shared.base, shared.err = os.MkdirTemp("", "saslkit-pgstore-")
		if shared.err != nil {
			return
		}
		if shared.c, shared.err = newCluster(shared.base, cred); shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shared.pool, shared.err = pgxpool.New(ctx, shared.c.dsn())
	})
	if shared.err != nil {
		tb.Fatalf("starting the test cluster: %v", shared.err)
	}
	return shared.c, shared.pool
}

// stopShared stops the shared cluster, if a test started it.
func stopShared() {
	if shared.pool != nil {
		shared.pool.Close()
	}
	if shared.c != nil {
		shared.c.stop(syscall.SIGINT)
	}
	if shared.base != "" {
		os.RemoveAll(shared.base)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopShared()
	os.Exit(code)
}

var schemaSeq atomic.Int64

// testSchema returns a fresh schema name, dropped when tb ends.
func testSchema(tb testing.TB, pool *pgxpool.Pool) string {
	name := fmt.Sprintf("t%d", schemaSeq.Add(1))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`)
	})
	return name
}

// newTestStore returns a Store in a fresh schema of the shared cluster
// holding accounts, added through SetAccount. cfg may be nil; its Schema
// is set.
func newTestStore(tb testing.TB, cfg *Config, accounts ...creds.Account) *Store {
	tb.Helper()
	_, pool := sharedCluster(tb)
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Schema == "" {
		c.Schema = testSchema(tb, pool)
	}
	c.Migrate = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := New(ctx, pool, &c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	for _, a := range accounts {
		if err := s.SetAccount(ctx, a); err != nil {
			tb.Fatalf("SetAccount(%q): %v", a.Name, err)
		}
	}
	return s
}

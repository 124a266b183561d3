// Package pgtest runs throwaway PostgreSQL 15 clusters for saslkit's tests
// of SCRAM-SHA-256 (RFC 5802, RFC 7677) against a real server and of the
// PostgreSQL credential store. It is for tests only.
//
// A cluster is Debian's postgresql-15 (initdb and postgres from [Bin]),
// initialised in a fresh temporary directory with scram-sha-256
// authentication, and run on a private loopback port with its Unix socket
// in that directory. Run as root, the test starts it as the user postgres
// (or nobody), since PostgreSQL refuses to run as root. The server runs in
// a process group of its own, is stopped by its PID, and is shut down by
// the kernel (Pdeathsig) if the test binary dies first.
//
// [Start] ties a cluster to a test; [New] starts one that several tests
// share, for TestMain to [Cluster.Close]. Without PostgreSQL 15, [Need]
// and [Start] skip the test, naming the missing program.
package pgtest

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
	"syscall"
	"testing"
	"time"

	"github.com/saslkit/saslkit/internal/testproc"
)

// Bin is where Debian's postgresql-15 and postgresql-client-15 packages put
// initdb, postgres and psql.
const Bin = "/usr/lib/postgresql/15/bin"

// The superuser of every cluster and its password.
const (
	SuperUser     = "postgres"
	SuperPassword = "super-Secret-1"
)

// readyLine is what postgres logs once it accepts connections.
const readyLine = "database system is ready to accept connections"

// Timeouts of initdb, of postgres's start, and of the fast shutdown before
// the process group is killed.
const (
	initTimeout  = 60 * time.Second
	startTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
)

// Options are the settings of a cluster. A nil *Options means the zero
// Options.
type Options struct {
	// CertFile and KeyFile, if both are not empty, are a PEM certificate
	// (chain) and its key, which the cluster serves with ssl=on. They are
	// copied into the cluster's directory.
	CertFile, KeyFile string

	// HBA are lines of pg_hba.conf. They come before the two default
	// lines, "local all all scram-sha-256" and "host all all 127.0.0.1/32
	// scram-sha-256", and so take precedence over them (the first match
	// wins). Nil means only the defaults.
	HBA []string

	// Settings are "name=value" run-time parameters, passed to postgres
	// with -c after the defaults, which they override: listen_addresses
	// 127.0.0.1, password_encryption scram-sha-256, fsync off,
	// shared_buffers 16MB, max_connections 60, logging_collector off, and
	// ssl (with its files) when CertFile and KeyFile are set.
	Settings []string
}

// A Cluster is a running PostgreSQL cluster a test started. Its methods are
// safe for concurrent use.
type Cluster struct {
	dir  string // the socket directory; data is dir/data
	port int
	cred *syscall.Credential // nil: run as the test's user
	args []string            // postgres's arguments
	log  *testproc.Buffer

	mu sync.Mutex     // guards pg
	pg *testproc.Proc // nil while stopped
}

// Need skips tb, naming what is missing, when a cluster cannot be run:
// without initdb, postgres or psql in [Bin], or when the test runs as root
// and there is no user postgres or nobody to run PostgreSQL as.
func Need(tb testing.TB) {
	tb.Helper()
	if err := missing(); err != nil {
		tb.Skip(err)
	}
	if _, err := runAs(); err != nil {
		tb.Skip(err)
	}
}

// missing returns an error naming the first program of PostgreSQL 15 that
// is not installed.
func missing() error {
	for _, p := range []struct{ tool, pkg string }{
		{"initdb", "postgresql-15"}, {"postgres", "postgresql-15"}, {"psql", "postgresql-client-15"},
	} {
		if _, err := os.Stat(filepath.Join(Bin, p.tool)); err != nil {
			return fmt.Errorf("%s not installed (%s, Debian package %s)", p.tool, Bin, p.pkg)
		}
	}
	return nil
}

// Start initialises and starts a cluster with opt, in a temporary
// directory. The cluster is stopped and its directory removed when tb
// ends; if tb failed, its log is logged first. Start skips tb as [Need]
// does, and fails it if the cluster does not start.
func Start(tb testing.TB, opt *Options) *Cluster {
	tb.Helper()
	Need(tb)
	c, err := New(opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("postgres log:\n%s", c.Log())
		}
		c.Close()
	})
	return c
}

// New is [Start] without a test, for a cluster several tests share: it
// returns an error where Start skips or fails, and the caller must call
// [Cluster.Close].
func New(opt *Options) (*Cluster, error) {
	if opt == nil {
		opt = &Options{}
	}
	if err := missing(); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	cred, err := runAs()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c, err := initCluster(dir, cred, opt)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := c.start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return c, nil
}

// initCluster writes the password and TLS files into dir, which it makes
// the unprivileged user's, runs initdb and writes pg_hba.conf.
func initCluster(dir string, cred *syscall.Credential, opt *Options) (*Cluster, error) {
	// MkdirTemp made dir 0700; the server's user owns it and the
	// test's user (root) may enter it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	files := map[string][]byte{"pw": []byte(SuperPassword + "\n")}
	tls := opt.CertFile != "" && opt.KeyFile != ""
	if tls {
		for name, src := range map[string]string{"server.crt": opt.CertFile, "server.key": opt.KeyFile} {
			b, err := os.ReadFile(src)
			if err != nil {
				return nil, err
			}
			files[name] = b
		}
	}
	for name, b := range files {
		if err := writeFile(filepath.Join(dir, name), b, cred); err != nil {
			return nil, err
		}
	}
	if err := chown(dir, cred); err != nil {
		return nil, err
	}
	port, err := testproc.FreePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), initTimeout)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(Bin, "initdb"), "-D", data, "-U", SuperUser,
		"--auth=scram-sha-256", "--pwfile="+filepath.Join(dir, "pw"), "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = serverEnv
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	hba := strings.Join(append(append([]string(nil), opt.HBA...),
		"local all all scram-sha-256", "host all all 127.0.0.1/32 scram-sha-256"), "\n") + "\n"
	if err := writeFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), cred); err != nil {
		return nil, err
	}

	settings := []string{
		"listen_addresses=127.0.0.1",
		"password_encryption=scram-sha-256",
		"fsync=off",
		"shared_buffers=16MB",
		"max_connections=60",
		"logging_collector=off",
	}
	if tls {
		settings = append(settings, "ssl=on",
			"ssl_cert_file="+filepath.Join(dir, "server.crt"),
			"ssl_key_file="+filepath.Join(dir, "server.key"))
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port), "-k", dir}
	for _, s := range append(settings, opt.Settings...) {
		args = append(args, "-c", s)
	}
	return &Cluster{dir: dir, port: port, cred: cred, args: args, log: &testproc.Buffer{}}, nil
}

// start starts postgres and waits until it accepts connections.
func (c *Cluster) start() error {
	mark := len(c.log.String())
	cmd := exec.Command(filepath.Join(Bin, "postgres"), c.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Env = serverEnv
	// SIGQUIT, immediate shutdown, if the test binary dies first.
	pg, err := testproc.Start(cmd, c.log, syscall.SIGQUIT)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	c.mu.Lock()
	c.pg = pg
	c.mu.Unlock()
	deadline := time.After(startTimeout)
	for !strings.Contains(c.log.String()[mark:], readyLine) {
		select {
		case <-pg.Exited():
			c.stop(syscall.SIGKILL)
			return fmt.Errorf("postgres exited:\n%s", c.log)
		case <-deadline:
			c.stop(syscall.SIGKILL)
			return fmt.Errorf("postgres did not start in %v:\n%s", startTimeout, c.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// stop sends sig to postgres, if it runs, and waits for it to exit.
func (c *Cluster) stop(sig syscall.Signal) {
	c.mu.Lock()
	pg := c.pg
	c.pg = nil
	c.mu.Unlock()
	pg.Stop(sig, stopTimeout)
}

// Stop shuts the cluster down (fast shutdown, SIGINT to the postmaster by
// its PID) and waits for it to exit; after 10 s it kills its process
// group. It does nothing if the cluster is stopped.
func (c *Cluster) Stop() { c.stop(syscall.SIGINT) }

// Kill stops the cluster as a crash would: immediate shutdown (SIGQUIT),
// without a checkpoint. It waits as [Cluster.Stop] does.
func (c *Cluster) Kill() { c.stop(syscall.SIGQUIT) }

// Restart stops the cluster, if it runs, as [Cluster.Stop] does, starts it
// again on the same port and directory, and waits until it accepts
// connections. It returns an error, with the log, if it does not start.
func (c *Cluster) Restart() error {
	c.Stop()
	return c.start()
}

// Close stops the cluster and removes its directory.
func (c *Cluster) Close() {
	c.Stop()
	os.RemoveAll(c.dir)
}

// Log returns what postgres has written to its standard output and error
// since the cluster was started first.
func (c *Cluster) Log() string { return c.log.String() }

// Port returns the cluster's TCP port, the port of its Unix socket too.
func (c *Cluster) Port() int { return c.port }

// Addr returns the cluster's TCP address, 127.0.0.1:port.
func (c *Cluster) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// SocketDir returns the directory of the cluster's Unix socket.
func (c *Cluster) SocketDir() string { return c.dir }

// DSN returns a connection string, in libpq's keyword/value form, of the
// superuser and the database postgres over the Unix socket, with the
// superuser's password, sslmode=disable and connect_timeout=5. A client
// may append parameters.
func (c *Cluster) DSN() string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=postgres sslmode=disable connect_timeout=5",
		quoteDSN(c.dir), c.port, SuperUser, SuperPassword)
}

// quoteDSN quotes v as a libpq keyword/value value, if it must be.
func quoteDSN(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// Psql runs the SQL script sql as the superuser, in the database postgres,
// over the Unix socket, with psql -At (unaligned, tuples only) stopping at
// the first error, and returns its output. The script goes on psql's
// standard input and the password in its environment, so neither is on a
// command line. The error holds psql's standard error.
func (c *Cluster) Psql(ctx context.Context, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(Bin, "psql"), "-X", "-w", "-At", "-v", "ON_ERROR_STOP=1",
		"-h", c.dir, "-p", strconv.Itoa(c.port), "-U", SuperUser, "-d", "postgres", "-f", "-")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + SuperPassword, "PGCLIENTENCODING=UTF8", "PGCONNECT_TIMEOUT=10"}
	cmd.Stdin = strings.NewReader(sql)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql as superuser: %v: %s", err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.String(), nil
}

// Exec runs stmts, in order, as [Cluster.Psql] does, and fails tb at the
// first that fails. Each statement runs in a transaction of its own.
func (c *Cluster) Exec(tb testing.TB, stmts ...string) {
	tb.Helper()
	var sql strings.Builder
	for _, s := range stmts {
		sql.WriteString(strings.TrimRight(strings.TrimSpace(s), ";"))
		sql.WriteString(";\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Psql(ctx, sql.String()); err != nil {
		tb.Fatal(err)
	}
}

// serverEnv is the environment of initdb and postgres.
var serverEnv = []string{"PATH=/usr/bin:/bin", "LANG=C"}

// runAs returns the credential to run initdb and postgres with, which
// refuse to run as root: when the test runs as root, the user postgres
// (Debian's package made it) or nobody, without supplementary groups;
// otherwise nil, the test's own user.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("running as root, and no user postgres or nobody to run PostgreSQL as")
}

// writeFile writes b to path, readable by its owner only, and gives it to
// cred's user.
func writeFile(path string, b []byte, cred *syscall.Credential) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return chown(path, cred)
}

// chown gives path to cred's user; a nil cred leaves it alone.
func chown(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return os.Chown(path, int(cred.Uid), int(cred.Gid))
}

package pgsasl

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

	"github.com/saslkit/saslkit/internal/interop"
	"github.com/saslkit/saslkit/internal/testpki"
)

// pgBin is where Debian's postgresql-15 package puts initdb and postgres.
const pgBin = "/usr/lib/postgresql/15/bin"

// The roles the test cluster holds, with their passwords. carol's password
// changes under SASLprep (NFKC: "ﬁ" is "fi"), as PostgreSQL prepares it
// before deriving the keys.
const (
	superPassword = "super-Secret-1"
	alicePassword = "alice-Pencil-2"
	carolPassword = "\ufb01sh-3"
)

// cluster is a PostgreSQL 15 cluster the test started as an unprivileged
// user, listening on 127.0.0.1 with TLS and scram-sha-256 in pg_hba.conf.
type cluster struct {
	port int
	sock string
	pki  *testpki.PKI
	// Keys are the "role:rolpassword" lines of alice and carol, read from
	// pg_authid.
	Keys string
	log  *syncBuffer
}

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
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runAs returns the credential to run initdb and postgres with, which
// refuse to run as root: the "postgres" user the package made, or nobody.
// It returns nil when the test does not run as root.
func runAs(t *testing.T) *syscall.Credential {
	t.Helper()
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
	t.Skip("running as root, and no postgres or nobody user to run PostgreSQL as")
	return nil
}

// startCluster runs initdb and postgres in a temporary directory and
// creates the test roles. The cluster is stopped, by its PID, when t ends.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	for _, tool := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(pgBin, tool)); err != nil {
			t.Skipf("%s not installed (%s, Debian package postgresql-15)", tool, pgBin)
		}
	}
	interop.NeedTools(t, "psql")
	cred := runAs(t)

	base := t.TempDir()
	dir := filepath.Join(base, "pg")
	// The unprivileged user must reach dir through the test's temporary
	// directories, which are 0700.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pki := testpki.New(t, "")
	files := map[string][]byte{"pw": []byte(superPassword + "\n")}
	for name, src := range map[string]string{"server.crt": pki.CertFile, "server.key": pki.KeyFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if cred != nil {
		for _, name := range []string{"", "pw", "server.crt", "server.key"} {
			if err := os.Chown(filepath.Join(dir, name), int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(pgBin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=scram-sha-256", "--pwfile="+filepath.Join(dir, "pw"), "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	hba := "local all postgres scram-sha-256\n" +
		"hostssl all all 127.0.0.1/32 scram-sha-256\n" +
		"host all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}

	c := &cluster{port: freePort(t), sock: dir, pki: pki, log: &syncBuffer{}}
	pg := exec.Command(filepath.Join(pgBin, "postgres"), "-D", data, "-p", strconv.Itoa(c.port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "ssl=on",
		"-c", "ssl_cert_file="+filepath.Join(dir, "server.crt"),
		"-c", "ssl_key_file="+filepath.Join(dir, "server.key"),
		"-c", "password_encryption=scram-sha-256",
		"-c", "fsync=off", "-c", "shared_buffers=16MB", "-c", "max_connections=20",
		"-c", "logging_collector=off", "-c", "log_connections=on")
	pg.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	pg.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	pg.Stdout, pg.Stderr = c.log, c.log
	if err := pg.Start(); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	exited := make(chan struct{})
	go func() { pg.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Fast shutdown, by PID; then the whole process group.
		syscall.Kill(pg.Process.Pid, syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pg.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("postgres log:\n%s", c.log)
		}
	})
	for !strings.Contains(c.log.String(), "database system is ready to accept connections") {
		select {
		case <-exited:
			t.Fatalf("postgres exited:\n%s", c.log)
		case <-ctx.Done():
			t.Fatalf("postgres did not start:\n%s", c.log)
		case <-time.After(50 * time.Millisecond):
		}
	}

	_, err := c.psql(ctx, fmt.Sprintf("CREATE ROLE alice LOGIN PASSWORD '%s';\nCREATE ROLE carol LOGIN PASSWORD '%s';\n"+
		"CREATE DATABASE alice OWNER alice;\nCREATE DATABASE carol OWNER carol;\n", alicePassword, carolPassword))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.psql(ctx, "SELECT rolname || ':' || rolpassword FROM pg_authid WHERE rolname IN ('alice', 'carol') ORDER BY 1;\n")
	if err != nil {
		t.Fatal(err)
	}
	c.Keys = keys
	return c
}

// psql runs sql, given on stdin so that no password is on a command line,
// as the superuser over the cluster's Unix socket, and returns its
// unaligned output.
func (c *cluster) psql(ctx context.Context, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, "psql", "-X", "-w", "-At", "-v", "ON_ERROR_STOP=1",
		"-h", c.sock, "-p", strconv.Itoa(c.port), "-U", "postgres", "-d", "postgres", "-f", "-")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + superPassword, "PGCLIENTENCODING=UTF8", "PGCONNECT_TIMEOUT=10"}
	cmd.Stdin = strings.NewReader(sql)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql as superuser: %v: %s", err, errb.String())
	}
	return out.String(), nil
}

// addr is the cluster's TCP address.
func (c *cluster) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

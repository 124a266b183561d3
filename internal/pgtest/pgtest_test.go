package pgtest_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/saslkit/saslkit/internal/pgtest"
	"github.com/saslkit/saslkit/internal/testpki"
)

func psql(t *testing.T, c *pgtest.Cluster, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.Psql(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// TestCluster starts a cluster with TLS, an extra pg_hba.conf line and a
// setting, and checks that it keeps its data over a crash and a restart.
func TestCluster(t *testing.T) {
	pki := testpki.New(t, "")
	c := pgtest.Start(t, &pgtest.Options{
		CertFile: pki.CertFile, KeyFile: pki.KeyFile,
		HBA:      []string{"host all mallory 127.0.0.1/32 reject"},
		Settings: []string{"max_connections=20"},
	})
	for _, tc := range []struct{ sql, want string }{
		{"SHOW ssl", "on"},
		{"SHOW max_connections", "20"},
		{"SHOW password_encryption", "scram-sha-256"},
		{"SELECT count(*) FROM pg_hba_file_rules WHERE 'mallory' = ANY(user_name) AND auth_method = 'reject' AND line_number = 1", "1"},
	} {
		if got := psql(t, c, tc.sql); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.sql, got, tc.want)
		}
	}
	nc, err := net.DialTimeout("tcp", c.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dialing %s: %v", c.Addr(), err)
	}
	nc.Close()
	if !strings.Contains(c.DSN(), "host="+c.SocketDir()+" ") {
		t.Errorf("DSN %q does not name the socket directory %s", c.DSN(), c.SocketDir())
	}

	c.Exec(t, "CREATE ROLE alice LOGIN PASSWORD 'pencil'", "CREATE TABLE t (n int);", "INSERT INTO t VALUES (42)")
	port := c.Port()
	c.Kill()
	if _, err := c.Psql(context.Background(), "SELECT 1"); err == nil {
		t.Error("psql worked after Kill")
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if c.Port() != port {
		t.Errorf("port %d after Restart, want %d", c.Port(), port)
	}
	if got := psql(t, c, "SELECT n FROM t"); got != "42" {
		t.Errorf("after the crash and restart: %q, want 42", got)
	}
	if err := c.Restart(); err != nil { // from running: a fast shutdown first
		t.Fatal(err)
	}
	if got := psql(t, c, "SELECT rolname FROM pg_roles WHERE rolname = 'alice'"); got != "alice" {
		t.Errorf("role after the second restart: %q", got)
	}
	if n := strings.Count(c.Log(), "database system is ready to accept connections"); n != 3 {
		t.Errorf("%d starts in the log, want 3:\n%s", n, c.Log())
	}
}

// TestNew checks that Close stops a cluster that New started and removes
// its directory.
func TestNew(t *testing.T) {
	pgtest.Need(t)
	c, err := pgtest.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := c.SocketDir()
	psql(t, c, "SELECT 1")
	c.Close()
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Close, %s: %v", dir, err)
	}
	c.Close() // twice is harmless
}

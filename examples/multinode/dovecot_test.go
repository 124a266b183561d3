package main

// Dovecot 2.3 with dovecot-pgsql, reading the store's table, for the
// benchmarks. The approach is adapters/gosasl's dovecot_test.go: a
// rootless Dovecot, every process running as nobody, without chroot, on a
// private loopback port, with every file under a temporary directory.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/saslkit/saslkit/internal/interop"
)

// dovecotConfig is the configuration. Dovecot's pgsql driver is
// asynchronous: the auth process queries PostgreSQL itself (at most
// maxconns connections) and checks the password it gets, so auth workers
// serve only the checks of cached passwords, and only with
// auth_cache_verify_password_with_worker. The login processes run in
// Dovecot's high-performance mode (service_count = 0: one process serves
// many connections), and mail processes are reused, all being nobody's, so
// that a login costs what authentication costs rather than a fork.
const dovecotConfig = `base_dir = {{DIR}}/run
state_dir = {{DIR}}/state
log_path = {{DIR}}/dovecot.log
instance_name = multinode-{{PORT}}
protocols = imap
listen = 127.0.0.1
hostname = localhost
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_cache_size = {{CACHE_SIZE}}
auth_cache_ttl = 1 hour
auth_cache_negative_ttl = 0
auth_cache_verify_password_with_worker = yes
auth_worker_max_count = {{WORKERS}}
{{PASSDB}}
userdb {
  driver = static
  args = uid=65534 gid=65534 home={{DIR}}/mail/%n
}
mail_location = maildir:~/Maildir
service imap-login {
  chroot =
  service_count = 0
  process_min_avail = 2
  inet_listener imap {
    address = 127.0.0.1
    port = {{PORT}}
  }
  inet_listener imaps {
    port = 0
  }
}
service imap {
  service_count = 1000
  process_min_avail = {{WORKERS}}
}
service auth-worker {
  user = $default_internal_user
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`

// dovecotSQL reads the accounts from the store's table: the password
// column holds bcrypt as "$2y$…", which Dovecot reads as BLF-CRYPT.
// Accounts are matched by lookup_name, the name after SASLprep, which for
// the ASCII test names is the name itself.
const dovecotSQL = `driver = pgsql
connect = host=127.0.0.1 port={{PGPORT}} dbname=postgres user=` + dovecotRole + ` password=` + dovecotPassword + ` sslmode=disable maxconns={{WORKERS}}
password_query = SELECT name AS user, '{BLF-CRYPT}' || password AS password FROM saslkit.accounts WHERE lookup_name = '%u' AND password LIKE '$2_$%%'
`

// The passdbs: the accounts' table, and for a baseline of what a login
// costs Dovecot without authentication, no password check at all.
const (
	sqlPassdb = `passdb {
  driver = sql
  args = {{DIR}}/sql.conf
}`
	noPasswordPassdb = `passdb {
  driver = static
  args = nopassword=y
}`
)

// dovecotWorkers is auth_worker_max_count, the pgsql driver's maxconns and
// the mail processes kept ready.
const dovecotWorkers = 8

// grantDovecot lets dovecotRole read the columns the query needs.
func grantDovecot(tb testing.TB, c *cluster) {
	tb.Helper()
	c.exec(tb, appRole,
		`GRANT USAGE ON SCHEMA saslkit TO `+dovecotRole,
		`GRANT SELECT (name, lookup_name, password) ON saslkit.accounts TO `+dovecotRole)
}

// startDovecot starts Dovecot as nobody with passdb and an auth cache of
// cacheSize ("0": none), and returns its IMAP address. It is stopped, by its PID, when
// tb ends. It skips tb, naming what is missing, without Dovecot or its
// pgsql driver.
func startDovecot(tb testing.TB, c *cluster, passdb, cacheSize string) string {
	tb.Helper()
	bin := "/usr/sbin/dovecot" // Debian's, outside a user's PATH
	if _, err := os.Stat(bin); err != nil {
		bin = interop.NeedTools(tb, "dovecot")[0] // skips, naming it
	}
	if _, err := os.Stat("/usr/lib/dovecot/modules/auth/libdriver_pgsql.so"); err != nil {
		tb.Skip("Dovecot's pgsql driver is not installed (Debian package dovecot-pgsql)")
	}
	if os.Geteuid() != 0 {
		tb.Skip("dovecot: the test must run as root, to start Dovecot as the unprivileged user nobody")
	}
	cred := runAs(tb, "nobody")
	dir := serverDir(tb, "dovecot", cred)
	port := freePort(tb)
	r := strings.NewReplacer("{{DIR}}", dir, "{{PORT}}", strconv.Itoa(port), "{{PGPORT}}", strconv.Itoa(c.port),
		"{{CACHE_SIZE}}", cacheSize, "{{WORKERS}}", strconv.Itoa(dovecotWorkers))
	conf := filepath.Join(dir, "dovecot.conf")
	files := map[string]string{conf: r.Replace(strings.Replace(dovecotConfig, "{{PASSDB}}", passdb, 1)), filepath.Join(dir, "sql.conf"): r.Replace(dovecotSQL)}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
		chown(tb, cred, path)
	}
	for _, sub := range []string{"mail", "state", "run"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o755); err != nil {
			tb.Fatal(err)
		}
		chown(tb, cred, p)
	}
	cmd := exec.Command(bin, "-F", "-c", conf)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	p, err := startProc("dovecot", cmd, &syncBuffer{}, syscall.SIGTERM)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// SIGTERM to the master stops its children.
		p.stop(syscall.SIGTERM)
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		if tb.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			tb.Logf("dovecot output:\n%s\ndovecot.log:\n%s", p.log, b)
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	err = p.waitFor(15*time.Second, "listener", func() bool {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			nc.Close()
		}
		return err == nil
	})
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		tb.Fatalf("%v\ndovecot.log:\n%s", err, b)
	}
	return addr
}

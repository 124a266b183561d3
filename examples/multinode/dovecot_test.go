package main

// Dovecot 2.3 with dovecot-pgsql, reading the store's table, for the
// benchmarks: a rootless Dovecot (internal/dovecottest), every process
// running as nobody, without chroot, on a private loopback port, with
// every file under a temporary directory.

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/internal/dovecottest"
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

// grantDovecot lets dovecotRole read the columns the query needs. The
// superuser grants, as though it were appRole, the owner.
func grantDovecot(tb testing.TB, c *cluster) {
	tb.Helper()
	c.Exec(tb,
		`GRANT USAGE ON SCHEMA saslkit TO `+dovecotRole,
		`GRANT SELECT (name, lookup_name, password) ON saslkit.accounts TO `+dovecotRole)
}

// startDovecot starts Dovecot as nobody (internal/dovecottest) with passdb
// and an auth cache of cacheSize ("0": none), and returns its IMAP
// address. It is stopped, by its PID, when tb ends. It skips tb, naming
// what is missing, without Dovecot or its pgsql driver.
func startDovecot(tb testing.TB, c *cluster, passdb, cacheSize string) string {
	tb.Helper()
	dovecottest.Tool(tb, "dovecot") // skips, naming it
	if _, err := os.Stat("/usr/lib/dovecot/modules/auth/libdriver_pgsql.so"); err != nil {
		tb.Skip("Dovecot's pgsql driver is not installed (Debian package dovecot-pgsql)")
	}
	r := strings.NewReplacer("{{PGPORT}}", strconv.Itoa(c.Port()),
		"{{CACHE_SIZE}}", cacheSize, "{{WORKERS}}", strconv.Itoa(dovecotWorkers))
	s := dovecottest.Start(tb, &dovecottest.Options{
		Config: r.Replace(strings.Replace(dovecotConfig, "{{PASSDB}}", passdb, 1)),
		Files:  map[string]string{"sql.conf": r.Replace(dovecotSQL)},
		Ports:  []string{"PORT"},
	})
	return s.Addr("PORT")
}

package gosasl_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/saslkit/saslkit/internal/dovecottest"
	"github.com/saslkit/saslkit/internal/testpki"
)

// The accounts, as in /work/shared/INTEROP.md and examples/dovecot.
const (
	user     = "user"
	password = "pencil"
	token    = "tok123"
)

// dovecot is a running Dovecot 2.3 and what a client needs to reach it.
type dovecot struct {
	// Addresses: IMAP and submission over TLS (RFC 8314), and submission
	// with STARTTLS.
	imaps, submissions, submission string
	pki                            *testpki.PKI
}

// dovecotConfig is a rootless Dovecot: the master, the login processes,
// auth and the mail processes all run as the user who started it (nobody),
// without chroot, on private loopback ports, with every file under DIR.
// passwd-file databases hold a password, a static bearer token and the
// one user a client certificate may log in as (EXTERNAL).
const dovecotConfig = `base_dir = {{DIR}}/run
state_dir = {{DIR}}/state
log_path = {{DIR}}/dovecot.log
instance_name = gosasl-{{IMAPS_PORT}}
protocols = imap submission
listen = 127.0.0.1
hostname = localhost
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
ssl = yes
ssl_cert = <{{DIR}}/tls/server.pem
ssl_key = <{{DIR}}/tls/server.key
ssl_ca = <{{DIR}}/tls/ca.pem
ssl_dh = </usr/share/dovecot/dh.pem
ssl_verify_client_cert = yes
ssl_require_crl = no
auth_ssl_username_from_cert = yes
ssl_cert_username_field = commonName
disable_plaintext_auth = yes
auth_mechanisms = plain login scram-sha-1 scram-sha-256 oauthbearer external
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = username_format=%n {{DIR}}/users
  mechanisms = plain login scram-sha-1 scram-sha-256
}
passdb {
  driver = passwd-file
  args = username_format=%n {{DIR}}/tokens
  mechanisms = oauthbearer
}
passdb {
  driver = passwd-file
  args = username_format=%n {{DIR}}/certusers
  mechanisms = external
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home={{DIR}}/mail/%n
}
mail_location = maildir:~/Maildir
service imap-login {
  chroot =
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {{IMAPS_PORT}}
    ssl = yes
  }
}
service submission-login {
  chroot =
  inet_listener submission {
    address = 127.0.0.1
    port = {{SUBMISSION_PORT}}
  }
  inet_listener submissions {
    address = 127.0.0.1
    port = {{SUBMISSIONS_PORT}}
    ssl = yes
  }
}
service auth-worker {
  user = $default_internal_user
}
submission_relay_host = 127.0.0.1
submission_relay_port = {{RELAY_PORT}}
submission_relay_trusted = yes
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`

// startDovecot sets Dovecot up in a temporary directory owned by nobody and
// starts it as nobody (internal/dovecottest). It is stopped, by its pid and
// then its process group, when t ends. It skips t, naming the tool,
// without Dovecot.
func startDovecot(t *testing.T) *dovecot {
	t.Helper()
	srv := dovecottest.NewUnstarted(t, &dovecottest.Options{
		Config: dovecotConfig,
		Ports:  []string{"IMAPS_PORT", "SUBMISSIONS_PORT", "SUBMISSION_PORT"},
		Relay:  true,
		Files: map[string]string{
			"users":     user + ":{PLAIN}" + password + "\n",
			"tokens":    user + ":{PLAIN}" + token + "\n",
			"certusers": user + ":::::::nopassword=y\n",
		},
	})
	tlsDir := filepath.Join(srv.Dir(), "tls")
	if err := os.Mkdir(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	pki := testpki.New(t, tlsDir)
	pki.Client(t, "client", user)
	pki.Client(t, "other", "other")
	srv.Start(t)
	return &dovecot{
		imaps:       srv.Addr("IMAPS_PORT"),
		submissions: srv.Addr("SUBMISSIONS_PORT"),
		submission:  srv.Addr("SUBMISSION_PORT"),
		pki:         pki,
	}
}

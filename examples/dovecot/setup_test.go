package dovecot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/internal/dovecottest"
	"github.com/saslkit/saslkit/internal/testpki"
)

// server is a running Dovecot and what a client needs to reach it.
type server struct {
	dir                             string
	imap, imaps, submission         string // addresses
	ca, clientCert, clientKey       string // PEM files
	otherClientCert, otherClientKey string // a certificate for CN=other
}

// The accounts the tests use, as in ../../shared/INTEROP.md.
const (
	user      = "user"
	password  = "pencil"
	token     = "tok123"
	scramUser = "scramuser" // stored as {SCRAM-SHA-256} keys made by doveadm pw
)

const config = `base_dir = {{DIR}}/run
state_dir = {{DIR}}/state
log_path = {{DIR}}/dovecot.log
instance_name = sasltest-{{IMAP_PORT}}
protocols = imap submission
listen = 127.0.0.1
hostname = localhost
ssl = yes
ssl_cert = <{{DIR}}/tls/server.pem
ssl_key = <{{DIR}}/tls/server.key
ssl_ca = <{{DIR}}/tls/ca.pem
ssl_dh = </usr/share/dovecot/dh.pem
ssl_verify_client_cert = yes
ssl_require_crl = no
auth_ssl_username_from_cert = yes
ssl_cert_username_field = commonName
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256 xoauth2 oauthbearer anonymous external
auth_anonymous_username = anonymous
auth_realms = localhost
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = username_format=%n {{DIR}}/users
}
passdb {
  driver = passwd-file
  args = username_format=%n {{DIR}}/tokens
  mechanisms = xoauth2 oauthbearer
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
  inet_listener imap {
    address = 127.0.0.1
    port = {{IMAP_PORT}}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {{IMAPS_PORT}}
    ssl = yes
  }
}
service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = {{SUBMISSION_PORT}}
  }
}
submission_relay_host = 127.0.0.1
submission_relay_port = {{RELAY_PORT}}
submission_relay_trusted = yes
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`

// startDovecot sets Dovecot up in a temporary directory and starts its
// master as root, which drops privileges (internal/dovecottest). It is
// stopped, and every process it started with it, when t ends. It skips t,
// saying why, without Dovecot or when the test does not run as root.
func startDovecot(t *testing.T) *server {
	t.Helper()
	srv := dovecottest.NewUnstarted(t, &dovecottest.Options{
		Config: config,
		Ports:  []string{"IMAP_PORT", "IMAPS_PORT", "SUBMISSION_PORT"},
		Relay:  true,
		AsRoot: true,
		Files: map[string]string{
			"tokens":    user + ":{PLAIN}" + token + "\n",
			"certusers": user + ":::::::nopassword=y\n",
		},
	})
	doveadm := dovecottest.Tool(t, "doveadm")
	dir := srv.Dir()
	s := &server{dir: dir, imap: srv.Addr("IMAP_PORT"), imaps: srv.Addr("IMAPS_PORT"), submission: srv.Addr("SUBMISSION_PORT")}
	tlsDir := filepath.Join(dir, "tls")
	mustMkdir(t, tlsDir, 0o755)
	writeCerts(t, tlsDir)
	s.ca = filepath.Join(tlsDir, "ca.pem")
	s.clientCert, s.clientKey = filepath.Join(tlsDir, "client.pem"), filepath.Join(tlsDir, "client.key")
	s.otherClientCert, s.otherClientKey = filepath.Join(tlsDir, "other.pem"), filepath.Join(tlsDir, "other.key")

	// The stored-key user: SCRAM-SHA-256 keys as doveadm makes them.
	out, err := exec.Command(doveadm, "-c", srv.ConfigFile(), "pw", "-s", "SCRAM-SHA-256", "-p", password).Output()
	if err != nil {
		t.Fatalf("doveadm pw: %v", exitDetail(err))
	}
	stored := strings.TrimSpace(string(out))
	if !strings.HasPrefix(stored, "{SCRAM-SHA-256}") {
		t.Fatalf("doveadm pw printed %q", stored)
	}
	mustWrite(t, filepath.Join(dir, "users"), user+":{PLAIN}"+password+"\n"+scramUser+":"+stored+"\n")
	srv.Start(t)
	return s
}

// writeCerts writes a throwaway CA (ca.pem), a server certificate for
// localhost and 127.0.0.1 (server.pem, server.key), and client
// certificates with extendedKeyUsage clientAuth for CN=user (client.pem,
// client.key) and CN=other (other.pem, other.key) into dir.
func writeCerts(t *testing.T, dir string) {
	t.Helper()
	p := testpki.New(t, dir)
	p.Client(t, "client", user)
	p.Client(t, "other", "other")
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// exitDetail adds a command's stderr to its error.
func exitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}

// dovecotVersion returns what dovecot --version prints.
func dovecotVersion(t *testing.T) string {
	out, err := exec.Command(dovecottest.Tool(t, "dovecot"), "--version").Output()
	if err != nil {
		return "(unknown version)"
	}
	return strings.TrimSpace(string(out))
}

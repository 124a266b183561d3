package dovecot

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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

// findDovecot returns the paths of dovecot and doveadm, or skips t.
func findDovecot(t *testing.T) (dovecot, doveadm string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("dovecot: these tests must run as root, since Dovecot drops privileges")
	}
	look := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		t.Skipf("%s not installed (Debian: apt-get install dovecot-core dovecot-imapd dovecot-submissiond, or run .ci/install-interop.sh)", name)
		return ""
	}
	return look("dovecot"), look("doveadm")
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

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

// startDovecot sets Dovecot up in a temporary directory and starts it. It
// is stopped, and every process it started with it, when t ends.
func startDovecot(t *testing.T) *server {
	t.Helper()
	dovecot, doveadm := findDovecot(t)

	dir := t.TempDir()
	// Dovecot's unprivileged processes (the mail process runs as nobody)
	// must be able to reach into the directory.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{dir: dir}
	tlsDir := filepath.Join(dir, "tls")
	mustMkdir(t, tlsDir, 0o755)
	writeCerts(t, tlsDir)
	s.ca = filepath.Join(tlsDir, "ca.pem")
	s.clientCert, s.clientKey = filepath.Join(tlsDir, "client.pem"), filepath.Join(tlsDir, "client.key")
	s.otherClientCert, s.otherClientKey = filepath.Join(tlsDir, "other.pem"), filepath.Join(tlsDir, "other.key")

	relay := startRelaySink(t)
	ports := freePorts(t, 3)
	s.imap = "127.0.0.1:" + strconv.Itoa(ports[0])
	s.imaps = "127.0.0.1:" + strconv.Itoa(ports[1])
	s.submission = "127.0.0.1:" + strconv.Itoa(ports[2])
	conf := strings.NewReplacer(
		"{{DIR}}", dir,
		"{{IMAP_PORT}}", strconv.Itoa(ports[0]),
		"{{IMAPS_PORT}}", strconv.Itoa(ports[1]),
		"{{SUBMISSION_PORT}}", strconv.Itoa(ports[2]),
		"{{RELAY_PORT}}", strconv.Itoa(relay),
	).Replace(config)
	confPath := filepath.Join(dir, "dovecot.conf")
	mustWrite(t, confPath, conf)

	// The stored-key user: SCRAM-SHA-256 keys as doveadm makes them.
	out, err := exec.Command(doveadm, "-c", confPath, "pw", "-s", "SCRAM-SHA-256", "-p", password).Output()
	if err != nil {
		t.Fatalf("doveadm pw: %v", exitDetail(err))
	}
	stored := strings.TrimSpace(string(out))
	if !strings.HasPrefix(stored, "{SCRAM-SHA-256}") {
		t.Fatalf("doveadm pw printed %q", stored)
	}
	mustWrite(t, filepath.Join(dir, "users"), user+":{PLAIN}"+password+"\n"+scramUser+":"+stored+"\n")
	mustWrite(t, filepath.Join(dir, "tokens"), user+":{PLAIN}"+token+"\n")
	mustWrite(t, filepath.Join(dir, "certusers"), user+":::::::nopassword=y\n")

	mail := filepath.Join(dir, "mail")
	mustMkdir(t, mail, 0o755)
	if err := os.Chown(mail, 65534, 65534); err != nil { // nobody:nogroup
		t.Fatal(err)
	}
	mustMkdir(t, filepath.Join(dir, "state"), 0o755)
	// A stale penalty socket would bring back the failure delay.
	os.Remove(filepath.Join(dir, "run", "anvil-auth-penalty"))

	var output bytes.Buffer
	cmd := exec.Command(dovecot, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = &output, &output
	// Its own process group, so that the whole tree can be killed; and
	// SIGTERM if the test binary dies without cleaning up (a -timeout
	// panic), which makes the master stop its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dovecot: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stopDovecot(t, cmd, exited)
		if t.Failed() {
			logFile(t, filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot output:\n%s", output.String())
		}
	})

	// Ready when every listener accepts.
	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range []string{s.imap, s.imaps, s.submission} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				logFile(t, filepath.Join(dir, "dovecot.log"))
				t.Fatalf("dovecot exited at start: %v\n%s", err, output.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("dovecot not listening on %s after 15 s: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s
}

// stopDovecot stops Dovecot with SIGTERM, which makes the master stop its
// children, and kills the process group if it has not exited in 5 s.
func stopDovecot(t *testing.T, cmd *exec.Cmd, exited <-chan error) {
	pid := cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Errorf("dovecot did not stop on SIGTERM; killing its process group")
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	// Children that outlived the master are in its process group.
	syscall.Kill(-pid, syscall.SIGKILL)
}

// startRelaySink runs a tiny SMTP server that accepts and discards
// everything, for Dovecot's submission service to relay to, and returns
// its port.
func startRelaySink(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sink(c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// sink serves one SMTP connection: 250 to everything, 354 to DATA.
func sink(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "220 sink ESMTP\r\n")
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if inData {
			if line == "." {
				inData = false
				fmt.Fprintf(c, "250 2.0.0 discarded\r\n")
			}
			continue
		}
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "EHLO":
			fmt.Fprintf(c, "250-sink\r\n250 8BITMIME\r\n")
		case "DATA":
			inData = true
			fmt.Fprintf(c, "354 go ahead\r\n")
		case "QUIT":
			fmt.Fprintf(c, "221 bye\r\n")
			return
		default:
			fmt.Fprintf(c, "250 ok\r\n")
		}
	}
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

func logFile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return
	}
	t.Logf("%s:\n%s", path, b)
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
	dovecot, _ := findDovecot(t)
	out, err := exec.Command(dovecot, "--version").Output()
	if err != nil {
		return "(unknown version)"
	}
	return strings.TrimSpace(string(out))
}

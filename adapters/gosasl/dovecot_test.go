package gosasl_test

import (
	"bufio"
	"bytes"
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

	"github.com/saslkit/saslkit/internal/interop"
	"github.com/saslkit/saslkit/internal/testpki"
)

// The accounts, as in /work/shared/INTEROP.md and examples/dovecot.
const (
	user     = "user"
	password = "pencil"
	token    = "tok123"
)

// The unprivileged account Dovecot runs as: nobody:nogroup on Debian.
const (
	nobodyUID = 65534
	nobodyGID = 65534
)

// dovecot is a running Dovecot 2.3 and what a client needs to reach it.
type dovecot struct {
	// Addresses: IMAP and submission over TLS (RFC 8314), and submission
	// with STARTTLS.
	imaps, submissions, submission string
	pki                            *testpki.PKI
	dir                            string
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
// starts it as nobody. It is stopped, by its pid and then its process
// group, when t ends. It skips t, naming the tool, without Dovecot.
func startDovecot(t *testing.T) *dovecot {
	t.Helper()
	bin := "/usr/sbin/dovecot" // Debian's, outside a user's PATH
	if _, err := os.Stat(bin); err != nil {
		bin = interop.NeedTools(t, "dovecot")[0] // skips, naming it
	}
	if os.Geteuid() != 0 {
		t.Skip("dovecot: the test must run as root, to start Dovecot as the unprivileged user nobody")
	}

	dir := t.TempDir()
	// nobody must reach into the directory.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tlsDir := filepath.Join(dir, "tls")
	mkdir(t, tlsDir)
	pki := testpki.New(t, tlsDir)
	pki.Client(t, "client", user)
	pki.Client(t, "other", "other")

	relay := startRelaySink(t)
	ports := freePorts(t, 3)
	d := &dovecot{
		imaps:       "127.0.0.1:" + strconv.Itoa(ports[0]),
		submissions: "127.0.0.1:" + strconv.Itoa(ports[1]),
		submission:  "127.0.0.1:" + strconv.Itoa(ports[2]),
		pki:         pki,
		dir:         dir,
	}
	conf := strings.NewReplacer(
		"{{DIR}}", dir,
		"{{IMAPS_PORT}}", strconv.Itoa(ports[0]),
		"{{SUBMISSIONS_PORT}}", strconv.Itoa(ports[1]),
		"{{SUBMISSION_PORT}}", strconv.Itoa(ports[2]),
		"{{RELAY_PORT}}", strconv.Itoa(relay),
	).Replace(dovecotConfig)
	confPath := filepath.Join(dir, "dovecot.conf")
	write(t, confPath, conf)
	write(t, filepath.Join(dir, "users"), user+":{PLAIN}"+password+"\n")
	write(t, filepath.Join(dir, "tokens"), user+":{PLAIN}"+token+"\n")
	write(t, filepath.Join(dir, "certusers"), user+":::::::nopassword=y\n")
	for _, sub := range []string{"mail", "state", "run"} {
		mkdir(t, filepath.Join(dir, sub))
		if err := os.Chmod(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Everything belongs to nobody, who runs every Dovecot process.
	err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, nobodyUID, nobodyGID)
	})
	if err != nil {
		t.Fatal(err)
	}

	var output syncBuffer
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir}
	cmd.Stdout, cmd.Stderr = &output, &output
	// nobody, in a process group of its own so that the whole tree can be
	// stopped, and SIGTERM if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}},
		Setpgid:    true,
		Pdeathsig:  syscall.SIGTERM,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dovecot: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stopDovecot(t, cmd.Process.Pid, exited)
		if t.Failed() {
			logFile(t, filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot output:\n%s", output.String())
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range []string{d.imaps, d.submissions, d.submission} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				exited <- err
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
	return d
}

// stopDovecot stops the master by its pid with SIGTERM, which stops its
// children, and kills what is left of its process group after 5 s.
func stopDovecot(t *testing.T, pid int, exited <-chan error) {
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Logf("dovecot did not stop on SIGTERM in 5 s; killing its process group")
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	syscall.Kill(-pid, syscall.SIGKILL)
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// startRelaySink runs an SMTP server that accepts and discards everything,
// for Dovecot's submission service to relay to, and returns its port.
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
		switch strings.ToUpper(strings.Fields(line + " x")[0]) {
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

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
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

// syncBuffer is a bytes.Buffer safe for concurrent use: the IMAP client
// writes its wire log from two goroutines.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

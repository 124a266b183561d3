package dovecottest_test

import (
	"bufio"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saslkit/saslkit/internal/dovecottest"
)

// config is the smallest rootless Dovecot: IMAP with PLAIN, no TLS, one
// passwd-file account.
const config = `base_dir = {{DIR}}/run
state_dir = {{DIR}}/state
log_path = {{DIR}}/dovecot.log
instance_name = dovecottest-{{IMAP}}
protocols = imap
listen = 127.0.0.1
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = username_format=%n {{DIR}}/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home={{DIR}}/mail/%n
}
mail_location = maildir:~/Maildir
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = {{IMAP}}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`

// TestServer starts a rootless Dovecot, logs in, and checks that Stop
// stops it promptly, though the client's imap process lives on.
func TestServer(t *testing.T) {
	s := dovecottest.Start(t, &dovecottest.Options{
		Config: config,
		Ports:  []string{"IMAP"},
		Relay:  true, // unused by the configuration, but it must run
		Files:  map[string]string{"users": "user:{PLAIN}pencil\n"},
	})
	nc, err := net.DialTimeout("tcp", s.Addr("IMAP"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(nc)
	if g, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting %q, %v", g, err)
	}
	if _, err := nc.Write([]byte("a LOGIN user pencil\r\n")); err != nil {
		t.Fatal(err)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("LOGIN: %v", err)
		}
		if rest, ok := strings.CutPrefix(l, "a "); ok {
			if !strings.HasPrefix(rest, "OK") {
				t.Errorf("LOGIN: %q", l)
			}
			break
		}
	}
	// Dovecot's log process writes the line after the client has its
	// reply: wait for it.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.Log(), "Login: user=<user>"); {
		if time.Now().After(deadline) {
			t.Fatalf("dovecot.log has no login of user:\n%s", s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	begin := time.Now()
	s.Stop(t)
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("Stop took %v", d)
	}
	if nc, err := net.DialTimeout("tcp", s.Addr("IMAP"), time.Second); err == nil {
		nc.Close()
		t.Error("Dovecot still listens after Stop")
	}
	s.Stop(t) // twice is harmless
}

// TestRelay checks the relay that Relay starts: it takes a message.
func TestRelay(t *testing.T) {
	s := dovecottest.NewUnstarted(t, &dovecottest.Options{
		Config: config,
		Relay:  true,
		Files:  map[string]string{"relay.txt": "{{RELAY_PORT}}"},
	})
	b, err := os.ReadFile(filepath.Join(s.Dir(), "relay.txt"))
	if err != nil {
		t.Fatal(err)
	}
	err = smtp.SendMail("127.0.0.1:"+string(b), nil, "a@localhost", []string{"b@localhost"}, []byte("Subject: x\r\n\r\nbody\r\n"))
	if err != nil {
		t.Errorf("sending to the relay: %v", err)
	}
}

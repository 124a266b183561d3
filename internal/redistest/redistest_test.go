package redistest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/saslkit/saslkit/internal/redistest"
)

// do sends the inline command cmd to addr and returns the first line of
// the reply, without CRLF.
func do(t *testing.T, addr, cmd string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return strings.TrimRight(line, "\r\n")
}

// TestServer starts a server with a password, and checks that Kill stops
// it and Restart brings it back on the same port, configured as before.
func TestServer(t *testing.T) {
	s := redistest.Start(t, &redistest.Options{Config: []string{"requirepass hunter2-x", "loglevel warning"}})
	if got := do(t, s.Addr(), "PING"); !strings.HasPrefix(got, "-NOAUTH") {
		t.Errorf("PING without the password: %q, want -NOAUTH", got)
	}
	if got, want := s.URL(), "redis://"+s.Addr(); got != want {
		t.Errorf("URL %q, want %q", got, want)
	}
	port := s.Port()
	s.Kill()
	if nc, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		nc.Close()
		t.Error("the server still listens after Kill")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil { // from running
		t.Fatal(err)
	}
	if s.Port() != port {
		t.Errorf("port %d after Restart, want %d", s.Port(), port)
	}
	if got := do(t, s.Addr(), "PING"); !strings.HasPrefix(got, "-NOAUTH") {
		t.Errorf("PING after Restart: %q, want -NOAUTH (the same configuration)", got)
	}
	s.Stop()
	s.Stop() // twice is harmless
}

// Package redistest runs throwaway redis-server processes for the tests of
// saslkit's Redis rate limiter, which keeps the brute-force limits of SASL
// (RFC 4422) logins that several servers share. It is for tests only.
//
// A server is the redis-server in PATH (Debian's redis-server package),
// without persistence, on a private loopback port, with its configuration
// in a fresh temporary directory. Run as root, the test starts it as the
// user redis (or nobody). It runs in a process group of its own, is
// stopped by its PID, and is killed by the kernel (Pdeathsig) if the test
// binary dies first.
package redistest

import (
	"bufio"
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

	"github.com/saslkit/saslkit/internal/testproc"
)

// Timeouts of the server's start, and of a stop before the process group
// is killed.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
)

// Options are the settings of a server. A nil *Options means the zero
// Options.
type Options struct {
	// Config are lines added to redis.conf after the defaults, which they
	// may override (the last of a directive wins): port, bind 127.0.0.1,
	// protected-mode yes, no RDB or AOF persistence, dir, daemonize no,
	// the log on standard output, and loglevel notice.
	Config []string
}

// A Server is a running redis-server a test started. Its methods are safe
// for concurrent use.
type Server struct {
	bin, dir, conf string
	port           int
	cred           *syscall.Credential // nil: run as the test's user
	log            *testproc.Buffer

	mu sync.Mutex     // guards p
	p  *testproc.Proc // nil while stopped
}

// Start writes a configuration with opt and starts redis-server, and waits
// until it answers PING (an error reply such as NOAUTH counts as an
// answer). The server is stopped (SIGTERM) and its directory removed when
// tb ends; if tb failed, its log is logged first. Start skips tb, naming
// redis-server, if it is not installed, or if the test runs as root and
// there is no user redis or nobody to run it as; it fails tb if the
// server does not start.
func Start(tb testing.TB, opt *Options) *Server {
	tb.Helper()
	if opt == nil {
		opt = &Options{}
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skipf("redis-server not installed: %v (Debian package redis-server)", err)
	}
	cred, err := runAs()
	if err != nil {
		tb.Skip(err)
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{bin: bin, dir: dir, cred: cred, log: &testproc.Buffer{}}
	// Registered first, so that a server that fails to answer is stopped
	// too.
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("redis-server log:\n%s", s.Log())
		}
		s.Stop()
		os.RemoveAll(dir)
	})
	if s.port, err = testproc.FreePort(); err != nil {
		tb.Fatal(err)
	}
	conf := []string{
		"port " + strconv.Itoa(s.port),
		"bind 127.0.0.1",
		"protected-mode yes",
		`save ""`,
		"appendonly no",
		"dir " + dir,
		"daemonize no",
		`logfile ""`,
		"loglevel notice",
	}
	s.conf = filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(s.conf, []byte(strings.Join(append(conf, opt.Config...), "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	// MkdirTemp made dir 0700; the server's user owns it and the test's
	// user (root) may enter it.
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if cred != nil {
		for _, p := range []string{dir, s.conf} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// start starts the server and waits until it answers PING.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	p, err := testproc.Start(cmd, s.log, syscall.SIGKILL)
	if err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	s.mu.Lock()
	s.p = p
	s.mu.Unlock()
	deadline := time.Now().Add(startTimeout)
	for {
		err := ping(s.Addr())
		if err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			s.stop(syscall.SIGKILL)
			return fmt.Errorf("redis-server exited:\n%s", s.log)
		default:
		}
		if time.Now().After(deadline) {
			s.stop(syscall.SIGKILL)
			return fmt.Errorf("redis-server did not answer in %v: %v\n%s", startTimeout, err, s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING to addr and reads one reply: a simple string or an
// error, either of which means that the server serves commands.
func ping(addr string) error {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(time.Second))
	if _, err := nc.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		return err
	}
	if line[0] != '+' && line[0] != '-' {
		return fmt.Errorf("PING: reply %q", strings.TrimSpace(line))
	}
	if strings.HasPrefix(line, "-LOADING") {
		return fmt.Errorf("PING: %s", strings.TrimSpace(line))
	}
	return nil
}

// stop sends sig to the server, if it runs, and waits for it to exit.
func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	p := s.p
	s.p = nil
	s.mu.Unlock()
	p.Stop(sig, stopTimeout)
}

// Stop stops the server (SIGTERM, by its PID) and waits for it to exit;
// after 10 s it kills its process group. It does nothing if the server is
// stopped.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

// Kill kills the server (SIGKILL), as a crash would, and waits for it to
// exit. Without persistence, it comes back empty.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

// Restart stops the server, if it runs, as [Server.Stop] does, and starts
// it again on the same port, with the same configuration, and waits until
// it answers PING. It returns an error, with the log, if it does not.
func (s *Server) Restart() error {
	s.Stop()
	return s.start()
}

// Addr returns the server's address, 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns the server's redis:// URL, without credentials.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Port returns the server's TCP port.
func (s *Server) Port() int { return s.port }

// Log returns what redis-server has written to its standard output and
// error since it was started first.
func (s *Server) Log() string { return s.log.String() }

// runAs returns the credential to run redis-server with when the test runs
// as root: the user redis (Debian's package made it) or nobody, without
// supplementary groups; otherwise nil, the test's own user.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"redis", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("running as root, and no user redis or nobody to run redis-server as")
}

package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/saslkit/saslkit/internal/interop"
)

// server is a redis-server the test started as an unprivileged user, on a
// free loopback port, without persistence, with a configuration it wrote.
type server struct {
	t    testing.TB
	bin  string
	conf string
	port int
	cred *syscall.Credential

	mu     sync.Mutex // guards cmd, exited
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

// syncBuffer collects a process's output; it is safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runAs returns the credential to run redis-server with when the test runs
// as root: the "redis" user Debian's package made, or nobody.
func runAs(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	for _, name := range []string{"redis", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	t.Skip("running as root, and no redis or nobody user to run redis-server as")
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer starts a redis-server, stopped by its PID when t ends. It
// skips t, naming redis-server, if it is not installed. extra lines are
// added to the configuration.
func startServer(t testing.TB, extra ...string) *server {
	t.Helper()
	bin := interop.NeedTools(t, "redis-server")[0]
	s := &server{t: t, bin: bin, port: freePort(t), cred: runAs(t), log: &syncBuffer{}}
	base := t.TempDir()
	dir := filepath.Join(base, "redis")
	// The unprivileged user must reach dir through the test's temporary
	// directories, which are 0700.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode yes\n"+
		"save \"\"\nappendonly no\ndir %s\ndaemonize no\nlogfile \"\"\nloglevel notice\n", s.port, dir)
	for _, l := range extra {
		conf += l + "\n"
	}
	s.conf = filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.cred != nil {
		for _, p := range []string{dir, s.conf} {
			if err := os.Chown(p, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Registered first, so that a server that fails to answer is stopped
	// too.
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("redis-server log:\n%s", s.log)
		}
	})
	s.start()
	return s
}

// Addr returns the server's address.
func (s *server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns the server's redis:// URL.
func (s *server) URL() string { return "redis://" + s.Addr() }

// start starts the server (again, on the same port) and waits until it
// answers PING.
func (s *server) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, s.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		var rerr goredis.Error
		if err == nil || errors.As(err, &rerr) { // NOAUTH is an answer
			return
		}
		select {
		case <-exited:
			s.t.Fatal("redis-server exited")
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends sig to the server, by its PID, and waits until it has exited
// (killing its process group after 10 s).
func (s *server) stop(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(cmd.Process.Pid, sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// kill kills the server, as a crash would.
func (s *server) kill() { s.stop(syscall.SIGKILL) }

// client returns a client of the server, closed when the test ends.
func (s *server) client(t testing.TB) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

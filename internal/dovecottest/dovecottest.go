// Package dovecottest runs throwaway Dovecot 2.3 servers for saslkit's
// tests against a real SASL (RFC 4422) peer, over IMAP (RFC 9051) and SMTP
// submission (RFC 4954). It is for tests only.
//
// A server is Debian's dovecot, configured by the test, with every file
// in a fresh temporary directory and its listeners on free loopback
// ports. It runs rootless by default: the master and every process it
// starts run as nobody, so the configuration must name nobody as its
// users and turn chroot off. With [Options.AsRoot] the master runs as root
// and drops privileges as the configuration says. Either way the test must
// run as root. The master runs in a process group of its own, is stopped
// by its PID (SIGTERM, which stops its children), and is sent SIGTERM by
// the kernel (Pdeathsig) if the test binary dies first.
//
// [Start] sets a server up and starts it; [NewUnstarted] and
// [Server.Start] leave room in between to add files made with the
// configuration, such as doveadm's password hashes.
package dovecottest

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

// Timeouts of the start, until every listener accepts, and of the stop
// before the process group is killed.
const (
	startTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
)

// Options are the settings of a server. A nil *Options means the zero
// Options, which no Dovecot starts with: Config is needed.
type Options struct {
	// Config is dovecot.conf. In Config and in Files, "{{DIR}}" is
	// replaced by the server's directory, "{{NAME}}", for each NAME in
	// Ports, by that port, and "{{RELAY_PORT}}" by the relay's port when
	// Relay is set. It should set log_path = {{DIR}}/dovecot.log, which
	// [Server.Log] reads, and base_dir and state_dir under {{DIR}}.
	Config string

	// Files are written into the directory before Dovecot starts, by
	// name relative to it (parent directories are made), after the
	// replacements.
	Files map[string]string

	// Ports name the free loopback ports to allocate. Start waits until
	// each accepts connections.
	Ports []string

	// Relay, if true, runs an SMTP server on loopback for the submission
	// service to relay to, which accepts and discards every message.
	Relay bool

	// AsRoot, if true, runs the master as root, which drops privileges
	// as the configuration says; the directory and its files are root's,
	// readable by all, except the subdirectory mail, which is nobody's.
	// If false, every process runs as nobody and every file is nobody's,
	// readable by nobody only.
	AsRoot bool
}

// A Server is a Dovecot a test set up. Its methods are safe for concurrent
// use.
type Server struct {
	dir, conf, bin string
	ports          map[string]int
	nobody         *syscall.Credential
	cred           *syscall.Credential // the master's: nil, root; or nobody
	output         *testproc.Buffer

	mu sync.Mutex     // guards p
	p  *testproc.Proc // nil while stopped
}

// Tool returns the path of the Dovecot program name (dovecot, doveadm):
// found in PATH, or else in /usr/sbin or /usr/bin, where Debian puts them.
// It skips tb, naming the program, if there is none.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Skipf("%s not installed (Debian: apt-get install dovecot-core dovecot-imapd dovecot-submissiond, or run .ci/install-interop.sh)", name)
	return ""
}

// Start sets a server up with opt and starts it, as [NewUnstarted] and
// [Server.Start] do.
func Start(tb testing.TB, opt *Options) *Server {
	tb.Helper()
	s := NewUnstarted(tb, opt)
	s.Start(tb)
	return s
}

// NewUnstarted makes the server's directory, with the subdirectories run,
// state and mail, allocates its ports, starts the relay if opt asks, and
// writes dovecot.conf ([Server.ConfigFile]) and opt.Files. The directory
// is removed, and the server stopped if it was started, when tb ends; if
// tb failed, Dovecot's log and output are logged first. NewUnstarted skips
// tb, naming the program, without Dovecot, and when the test does not run
// as root.
func NewUnstarted(tb testing.TB, opt *Options) *Server {
	tb.Helper()
	if opt == nil {
		opt = &Options{}
	}
	bin := Tool(tb, "dovecot")
	if os.Geteuid() != 0 {
		tb.Skip("dovecot: the test must run as root, to start Dovecot (as nobody, or dropping privileges)")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		tb.Skipf("dovecot: no user nobody to run Dovecot as: %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		tb.Fatalf("dovecot: user nobody: uid %q, gid %q", u.Uid, u.Gid)
	}
	s := &Server{bin: bin, ports: make(map[string]int), output: &testproc.Buffer{},
		nobody: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	if !opt.AsRoot {
		s.cred = s.nobody
	}
	dir, err := os.MkdirTemp("", "dovecottest-")
	if err != nil {
		tb.Fatal(err)
	}
	s.dir = dir
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("dovecot.log:\n%s\ndovecot output:\n%s", s.Log(), s.output)
		}
		s.Stop(tb)
		os.RemoveAll(dir)
	})
	// Dovecot's unprivileged processes must reach into the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			tb.Fatal(err)
		}
	}

	repl := []string{"{{DIR}}", dir}
	ports, err := freePorts(len(opt.Ports))
	if err != nil {
		tb.Fatal(err)
	}
	for i, name := range opt.Ports {
		s.ports[name] = ports[i]
		repl = append(repl, "{{"+name+"}}", strconv.Itoa(ports[i]))
	}
	if opt.Relay {
		repl = append(repl, "{{RELAY_PORT}}", strconv.Itoa(startRelay(tb)))
	}
	r := strings.NewReplacer(repl...)
	files := map[string]string{"dovecot.conf": opt.Config}
	for name, content := range opt.Files {
		files[name] = content
	}
	mode := os.FileMode(0o600)
	if opt.AsRoot {
		mode = 0o644
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(r.Replace(content)), mode); err != nil {
			tb.Fatal(err)
		}
	}
	s.conf = filepath.Join(dir, "dovecot.conf")
	return s
}

// Start starts Dovecot as [Options.AsRoot] says, and waits until every
// port of [Options.Ports] accepts connections. Run rootless, it first
// gives every file in the directory to nobody. It fails tb if Dovecot
// exits or does not listen within 15 s.
func (s *Server) Start(tb testing.TB) {
	tb.Helper()
	if s.cred != nil {
		err := filepath.Walk(s.dir, func(path string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(s.cred.Uid), int(s.cred.Gid))
		})
		if err != nil {
			tb.Fatal(err)
		}
	} else if err := os.Chown(filepath.Join(s.dir, "mail"), int(s.nobody.Uid), int(s.nobody.Gid)); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(s.bin, "-F", "-c", s.conf)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + s.dir}
	cmd.Stdout, cmd.Stderr = s.output, s.output
	// Children that outlive the master (an imap process serving a client)
	// hold its output open: Wait waits for the master only, and 1 s more.
	cmd.WaitDelay = time.Second
	// A process group of its own, so that the whole tree can be stopped,
	// and SIGTERM, which makes the master stop its children, if the test
	// binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting dovecot: %v", err)
	}
	p := testproc.Watch(cmd)
	s.mu.Lock()
	s.p = p
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for _, port := range s.ports {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.Exited():
				tb.Fatalf("dovecot exited at start: %v\n%s", cmd.ProcessState, s.output)
			default:
			}
			if time.Now().After(deadline) {
				tb.Fatalf("dovecot not listening on %s after %v: %v", addr, startTimeout, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Stop stops the master by its PID with SIGTERM, which stops its
// children, and waits for it to exit; after 10 s it logs so to tb and
// kills its process group. Then it kills what is left of the group. It
// does nothing if Dovecot is stopped.
func (s *Server) Stop(tb testing.TB) {
	s.mu.Lock()
	p := s.p
	s.p = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	pid := p.Pid()
	select {
	case <-p.Exited(): // reaped: its PID may be another's now
	default:
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-p.Exited():
	case <-time.After(stopTimeout):
		tb.Logf("dovecot did not stop on SIGTERM in %v; killing its process group", stopTimeout)
		syscall.Kill(-pid, syscall.SIGKILL)
		<-p.Exited()
	}
	// Children that outlived the master are in its process group.
	syscall.Kill(-pid, syscall.SIGKILL)
}

// Dir returns the server's directory.
func (s *Server) Dir() string { return s.dir }

// ConfigFile returns the path of dovecot.conf, for doveadm -c.
func (s *Server) ConfigFile() string { return s.conf }

// Port returns the port allocated for name, one of [Options.Ports], or 0.
func (s *Server) Port(name string) int { return s.ports[name] }

// Addr returns 127.0.0.1 and the port allocated for name, one of
// [Options.Ports].
func (s *Server) Addr(name string) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports[name]))
}

// Log returns the contents of dovecot.log in the directory, or why they
// cannot be read.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "dovecot.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// freePorts returns n loopback ports that were free a moment ago, each
// different.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startRelay runs an SMTP server that accepts and discards everything,
// stopped when tb ends, and returns its port.
func startRelay(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() {
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

package loadtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/examples/internal/authtest"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

var (
	conns    = flag.Int("conns", envInt("SASLKIT_LOAD_CONNS", 1000), "concurrent `connections` (env SASLKIT_LOAD_CONNS)")
	users    = flag.Int("users", 100, "generated `users` besides user/pencil")
	starttls = flag.Bool("starttls", envBool("SASLKIT_LOAD_STARTTLS", true),
		"run STARTTLS before authenticating; false serves PLAIN in the clear with -insecure-auth (env SASLKIT_LOAD_STARTTLS)")
	inflight = flag.Int("inflight", 0, "most AUTHENTICATE commands in flight at once once all connections are open; 0 means all at once")
	verify   = flag.Int("max-verify", 0, "the server's -max-verify: most password checks at once; 0 means GOMAXPROCS")
	limit    = flag.Duration("load-timeout", 3*time.Minute, "bound on the whole run")
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// mechs is the mix, one per connection in turn.
var mechs = []string{"PLAIN", "SCRAM-SHA-256", "OAUTHBEARER"}

// account is one user with both a password and a token.
type account struct {
	name, password, token string
}

// result is what one connection saw.
type result struct {
	mech    string
	wrong   bool
	latency time.Duration // AUTHENTICATE sent to tagged reply
	err     error         // anything unexpected
}

func TestLoad(t *testing.T) {
	if os.Getenv("SASLKIT_LOAD") != "1" {
		t.Skip("load test: set SASLKIT_LOAD=1 to run it (it takes tens of seconds)")
	}
	n := *conns
	raiseNOFILE(t, uint64(2*n+256))
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()

	dir := t.TempDir()
	bin := filepath.Join(dir, "imapserver")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/saslkit/saslkit/examples/imapserver")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pki := authtest.NewPKI(t)
	accts := writeAccounts(t, dir, *users)

	args := []string{
		"-listen", "127.0.0.1:0",
		"-users", filepath.Join(dir, "users"), "-tokens", filepath.Join(dir, "tokens"),
		"-mechs", "SCRAM-SHA-256,OAUTHBEARER,PLAIN",
		"-cert", pki.CertFile, "-key", pki.KeyFile,
		"-max-conns", strconv.Itoa(max(n, 1000)),
		"-auth-timeout", "60s",
		"-secret-file", filepath.Join(dir, "secret"),
		"-max-verify", strconv.Itoa(*verify),
	}
	if !*starttls {
		args = append(args, "-insecure-auth")
	}
	srv := startServer(t, bin, filepath.Join(dir, "server.log"), args...)
	base := procStatus(t, srv.pid)
	cpu0 := procCPU(t, srv.pid)

	// Phase 1 opens every connection (and runs STARTTLS); phase 2, once all
	// are open, authenticates on all of them at once.
	results := make([]result, n)
	var opened sync.WaitGroup
	opened.Add(n)
	goAhead := make(chan struct{})
	var done sync.WaitGroup
	done.Add(n)
	began := time.Now()
	var authStart time.Time
	ends := make([]time.Time, n)
	var slots chan struct{}
	if *inflight > 0 {
		slots = make(chan struct{}, *inflight)
	}
	for i := range n {
		go func() {
			defer done.Done()
			a := accts[i%len(accts)]
			r := &results[i]
			r.mech = mechs[i%len(mechs)]
			r.wrong = i%10 == 9
			c, err := open(ctx, srv.addr, pki.ClientTLS(false))
			opened.Done()
			if err != nil {
				r.err = fmt.Errorf("open: %w", err)
				return
			}
			defer c.nc.Close()
			select {
			case <-goAhead:
			case <-ctx.Done():
				r.err = ctx.Err()
				return
			}
			if slots != nil {
				slots <- struct{}{}
			}
			r.latency, r.err = c.login(ctx, r.mech, a, r.wrong)
			ends[i] = time.Now()
			if slots != nil {
				<-slots
			}
			if r.err == nil {
				r.err = c.logout()
			}
		}()
	}
	opened.Wait()
	openedAt := time.Now()
	mid := procStatus(t, srv.pid)
	authStart = time.Now()
	close(goAhead)
	done.Wait()
	finished := time.Now()

	peak := procStatus(t, srv.pid)
	cpu1 := procCPU(t, srv.pid)
	srv.stop(t)
	self := procStatus(t, os.Getpid())
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)

	// Every connection must have done exactly what was expected.
	var unexpected int
	lat := map[string][]time.Duration{}
	var all []time.Duration
	lastEnd := authStart
	for i, r := range results {
		if r.err != nil {
			unexpected++
			if unexpected <= 20 {
				t.Errorf("connection %d (%s, wrong=%v): %v", i, r.mech, r.wrong, r.err)
			}
			continue
		}
		key := r.mech
		if r.wrong {
			key += " wrong"
		}
		lat[key] = append(lat[key], r.latency)
		all = append(all, r.latency)
		if ends[i].After(lastEnd) {
			lastEnd = ends[i]
		}
	}
	serverLog := checkServerLog(t, filepath.Join(dir, "server.log"), n)

	mode := "STARTTLS, then AUTHENTICATE"
	if !*starttls {
		mode = "plain TCP with -insecure-auth"
	}
	if *inflight > 0 {
		mode += fmt.Sprintf(", at most %d in flight", *inflight)
	} else {
		mode += ", all at once"
	}
	authSpan := lastEnd.Sub(authStart)
	var b strings.Builder
	fmt.Fprintf(&b, "load: %d connections (%s), %d accounts, mechanisms %v in turn, every 10th secret wrong, -max-verify %d\n", n, mode, len(accts), mechs, *verify)
	fmt.Fprintf(&b, "unexpected errors: %d; server log: %s\n", unexpected, serverLog)
	fmt.Fprintf(&b, "opening all connections: %v; authentications: %v for %d, %.0f/s; whole run %v\n",
		openedAt.Sub(began).Round(time.Millisecond), authSpan.Round(time.Millisecond), len(all),
		float64(len(all))/authSpan.Seconds(), finished.Sub(began).Round(time.Millisecond))
	fmt.Fprintf(&b, "latency (AUTHENTICATE sent to tagged reply), all: p50 %v, p99 %v, max %v\n",
		pct(all, 50), pct(all, 99), pct(all, 100))
	keys := make([]string, 0, len(lat))
	for k := range lat {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-20s n=%4d p50 %-10v p99 %v\n", k, len(lat[k]), pct(lat[k], 50), pct(lat[k], 99))
	}
	fmt.Fprintf(&b, "server process: VmHWM %d kB (after start %d kB, all connections open %d kB), CPU %.2f s during the run\n",
		peak.hwm, base.hwm, mid.rss, cpu1-cpu0)
	fmt.Fprintf(&b, "test process (clients): VmHWM %d kB, CPU %.2f s user + %.2f s sys\n",
		self.hwm, tv(ru.Utime), tv(ru.Stime))
	t.Log("\n" + b.String())
	if unexpected > 0 {
		t.Fatalf("%d unexpected errors out of %d connections", unexpected, n)
	}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(10 * time.Microsecond)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// raiseNOFILE raises the soft limit on open files to at least want, up to
// the hard limit; the server process inherits it.
func raiseNOFILE(t *testing.T, want uint64) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur >= want {
		return
	}
	if l.Max < want {
		t.Fatalf("RLIMIT_NOFILE hard limit %d is below the %d this load needs", l.Max, want)
	}
	l.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
}

// writeAccounts writes a passwd-file and a tokens file: user/pencil/tok123
// and n generated users, every other one with {PLAIN} (the server derives
// its SCRAM keys at load, as Dovecot does) and the rest with stored
// SCRAM-SHA-256 keys (so PLAIN runs PBKDF2 on the server for them).
func writeAccounts(t *testing.T, dir string, n int) []account {
	accts := []account{{"user", "pencil", "tok123"}}
	var users, tokens strings.Builder
	users.WriteString("user:{PLAIN}pencil\n")
	tokens.WriteString("user:tok123\n")
	for i := range n {
		a := account{fmt.Sprintf("load%03d", i), "pw-" + randHex(t, 8), "tok-" + randHex(t, 16)}
		if i%2 == 0 {
			fmt.Fprintf(&users, "%s:{PLAIN}%s\n", a.name, a.password)
		} else {
			salt := make([]byte, 16)
			rand.Read(salt)
			k, err := creds.DeriveSCRAMKeys("SHA-256", a.password, salt, 4096, false)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&users, "%s:%s\n", a.name, k.Dovecot())
		}
		fmt.Fprintf(&tokens, "%s:%s\n", a.name, a.token)
		accts = append(accts, a)
	}
	for name, s := range map[string]string{"users": users.String(), "tokens": tokens.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return accts
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// server is the imapserver process.
type server struct {
	cmd  *exec.Cmd
	pid  int
	addr string
	done chan error
}

func startServer(t *testing.T, bin, logPath string, args ...string) *server {
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, done: make(chan error, 1)}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "imap listening on "); ok {
				addr <- strings.TrimSuffix(a, " (STARTTLS)")
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.addr = <-addr:
	case err := <-s.done:
		s.done <- err
		t.Fatalf("server exited at start: %v (log in %s)", err, logPath)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not print its address")
	}
	return s
}

// stop sends SIGTERM and waits: the server exits 0 after a signal.
func (s *server) stop(t *testing.T) {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("server did not exit on SIGTERM")
	}
}

type status struct{ hwm, rss int }

// procStatus reads VmHWM and VmRSS, in kB, from /proc/pid/status.
func procStatus(t *testing.T, pid int) status {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var s status
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmHWM:":
			s.hwm = v
		case "VmRSS:":
			s.rss = v
		}
	}
	return s
}

// procCPU returns the user and system CPU seconds of pid, from
// /proc/pid/stat, in clock ticks of 1/100 s (USER_HZ on Linux).
func procCPU(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return float64(utime+stime) / 100
}

// checkServerLog counts the server's authentication lines and fails the
// test on any warning, error or panic.
func checkServerLog(t *testing.T, path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	lines := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		lines++
		switch {
		case strings.Contains(l, "level=WARN"), strings.Contains(l, "level=ERROR"), strings.Contains(l, "panic"):
			t.Errorf("server log: %s", l)
		case strings.Contains(l, "msg=authentication "):
			_, o, _ := strings.Cut(l, "outcome=")
			if q, ok := strings.CutPrefix(o, `"`); ok {
				o, _, _ = strings.Cut(q, `"`)
			} else {
				o, _, _ = strings.Cut(o, " ")
			}
			outcomes[o]++
		}
	}
	total := 0
	for _, c := range outcomes {
		total += c
	}
	if total != n {
		t.Errorf("server logged %d authentications; want %d", total, n)
	}
	return fmt.Sprintf("%d lines, outcomes %v", lines, outcomes)
}

// client is a minimal IMAP client: one connection, one AUTHENTICATE.
type client struct {
	nc   net.Conn
	r    *bufio.Reader
	ch   mech.Channel
	host string
	port string
}

// open connects, reads the greeting and, with -starttls, runs STARTTLS.
func open(ctx context.Context, addr string, cfg *tls.Config) (*client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	host, port, _ := net.SplitHostPort(addr)
	c := &client{nc: nc, r: bufio.NewReader(nc), host: host, port: port}
	if g, err := c.line(); err != nil || !strings.HasPrefix(g, "* OK ") {
		nc.Close()
		return nil, fmt.Errorf("greeting %q: %v", g, err)
	}
	if *starttls {
		if err := c.send("s STARTTLS"); err != nil {
			nc.Close()
			return nil, err
		}
		if l, err := c.line(); err != nil || !strings.HasPrefix(l, "s OK") {
			nc.Close()
			return nil, fmt.Errorf("STARTTLS: %q: %v", l, err)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		c.nc, c.r = tc, bufio.NewReader(tc)
		cs := tc.ConnectionState()
		c.ch = mech.ClientTLSChannel(&cs)
	}
	c.ch.Host, c.ch.Port = c.host, c.port
	return c, nil
}

func (c *client) send(line string) error {
	_, err := c.nc.Write([]byte(line + "\r\n"))
	return err
}

func (c *client) line() (string, error) {
	l, err := c.r.ReadString('\n')
	return strings.TrimSuffix(l, "\r\n"), err
}

// login runs AUTHENTICATE with SASL-IR and a library client session, and
// checks the outcome: OK and a session that accepts the success (SCRAM's
// v= verified) for the right secret, NO [AUTHENTICATIONFAILED] for a
// wrong one. It returns the time from sending the command to the tagged
// reply.
func (c *client) login(ctx context.Context, name string, a account, wrong bool) (time.Duration, error) {
	cr := creds.Client{Authcid: a.name, Password: a.password}
	var m mech.Client
	switch name {
	case "PLAIN":
		m = mech.Plain{}
	case "SCRAM-SHA-256":
		m = scram.Mechanism{}
	case "OAUTHBEARER":
		m = mech.OAuthBearer{}
		cr = creds.Client{Authzid: a.name, Token: a.token}
	}
	if wrong && name == "OAUTHBEARER" {
		cr.Token += "x"
	} else if wrong {
		cr.Password += "x"
	}
	s := session.NewClient(m, cr, c.ch, nil)
	ir, ok, err := s.Start(ctx)
	if err != nil {
		return 0, fmt.Errorf("client Start: %w", err)
	}
	cmd := "a AUTHENTICATE " + name
	if ok {
		if len(ir) == 0 {
			cmd += " ="
		} else {
			cmd += " " + session.Encode(ir)
		}
	}
	began := time.Now()
	if err := c.send(cmd); err != nil {
		return 0, err
	}
	var clientErr error
	for {
		l, err := c.line()
		if err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		switch {
		case l == "+" || strings.HasPrefix(l, "+ "):
			msg, err := session.Decode([]byte(strings.TrimPrefix(strings.TrimPrefix(l, "+"), " ")), 0)
			if err != nil {
				return 0, fmt.Errorf("challenge: %w", err)
			}
			resp, err := s.Next(ctx, msg)
			if err != nil {
				clientErr = err
				if err := c.send("*"); err != nil {
					return 0, err
				}
				continue
			}
			if err := c.send(session.Encode(resp)); err != nil {
				return 0, err
			}
		case strings.HasPrefix(l, "a "):
			d := time.Since(began)
			st := l[2:]
			switch {
			case clientErr != nil:
				return d, fmt.Errorf("client session: %w (status %q)", clientErr, st)
			case wrong && !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]"):
				return d, fmt.Errorf("wrong secret answered %q", st)
			case !wrong && !strings.HasPrefix(st, "OK"):
				return d, fmt.Errorf("right secret answered %q", st)
			case !wrong:
				if err := s.Success(ctx); err != nil {
					return d, fmt.Errorf("client refuses the success: %w", err)
				}
			case name == "OAUTHBEARER":
				var te *mech.TokenError
				if !errors.As(s.Failure(), &te) {
					return d, fmt.Errorf("refused token: client failure %v; want a *mech.TokenError", s.Failure())
				}
			}
			return d, nil
		default:
			return 0, fmt.Errorf("unexpected line %q during AUTHENTICATE", l)
		}
	}
}

// logout sends LOGOUT and expects BYE and the tagged OK.
func (c *client) logout() error {
	if err := c.send("z LOGOUT"); err != nil {
		return err
	}
	for {
		l, err := c.line()
		if err != nil {
			return fmt.Errorf("LOGOUT: %w", err)
		}
		if strings.HasPrefix(l, "z ") {
			if !strings.HasPrefix(l, "z OK") {
				return fmt.Errorf("LOGOUT: %q", l)
			}
			return nil
		}
		if !strings.HasPrefix(l, "* BYE") {
			return fmt.Errorf("LOGOUT: unexpected %q", l)
		}
	}
}

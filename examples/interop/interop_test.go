package interop

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saslkit/saslkit/examples/internal/authtest"
	peer "github.com/saslkit/saslkit/internal/interop"
)

var update = flag.Bool("update", false, "write the result matrix to "+docFile)

// raceEnabled is set when the tests run with -race (race_test.go).
var raceEnabled bool

const (
	docFile = "../../docs/interop.md"
	// regenerate is the command that rewrites the matrix.
	regenerate = "go test ./examples/interop -run TestInterop -args -update"
	// python is the interpreter the Python cases run: Debian's, whose
	// imaplib and smtplib the matrix reports on.
	python = "/usr/bin/python3"
)

// Time limits: every client and server process is killed at its limit.
const (
	clientTimeout = 20 * time.Second
	serverTimeout = 60 * time.Second
	logWait       = 5 * time.Second // for the server's log line after the client exits
)

// env is what every case shares: the server binaries and the PKI. It is
// read-only once made.
type env struct {
	bin                   string // directory holding imapserver and smtpserver
	pki                   *authtest.PKI
	clientCert, clientKey string // the client certificate, CN=user, in PEM files
	script                string // testdata/client.py, absolute
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{bin: t.TempDir(), pki: authtest.NewPKI(t)}
	e.clientCert, e.clientKey = e.pki.ClientCertFile, e.pki.ClientKeyFile
	var err error
	if e.script, err = filepath.Abs(filepath.Join("testdata", "client.py")); err != nil {
		t.Fatal(err)
	}

	// examples/imapserver and examples/smtpserver are commands (package
	// main), which cannot be imported: build them once and run each case
	// against its own server process.
	goTool := peer.NeedTools(t, "go")[0]
	args := []string{"build", "-o", e.bin + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/saslkit/saslkit/examples/imapserver", "github.com/saslkit/saslkit/examples/smtpserver")
	start := time.Now()
	if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built the servers in %v", time.Since(start).Round(time.Millisecond))
	return e
}

// serverOpts is how a case's server is configured, beyond the shared
// defaults: the PKI's certificates, client certificates verified, the
// embedded accounts (user/pencil, token tok123).
type serverOpts struct {
	mechs    string // -mechs; empty means authtest.AllMechs
	insecure bool   // -insecure-auth
	noIR     bool   // -no-sasl-ir
}

// server is a running example server.
type server struct {
	plain, tls string // addresses: plain with STARTTLS, implicit TLS
	proc       *peer.Proc
}

// startServer runs examples/imapserver or examples/smtpserver, for proto
// "IMAP" or "SMTP", on two loopback ports and returns once it listens.
func (e *env) startServer(t *testing.T, proto string, o serverOpts) *server {
	t.Helper()
	name := strings.ToLower(proto)
	mechs := o.mechs
	if mechs == "" {
		mechs = authtest.AllMechs
	}
	args := []string{
		"-listen", "127.0.0.1:0", "-listen-tls", "127.0.0.1:0",
		"-cert", e.pki.CertFile, "-key", e.pki.KeyFile, "-client-ca", e.pki.CAFile,
		"-mechs", mechs, "-auth-timeout", "10s",
	}
	if o.insecure {
		args = append(args, "-insecure-auth")
	}
	if o.noIR {
		args = append(args, "-no-sasl-ir")
	}
	p := peer.Start(t, &peer.ProcOptions{Timeout: serverTimeout}, filepath.Join(e.bin, name+"server"), args...)
	s := &server{proc: p}
	for range 2 {
		line, err := p.ReadPrefixed(name + " listening on ")
		if err != nil {
			t.Fatalf("%sserver did not start: %v; stderr: %s", name, err, p.Stderr())
		}
		addr, kind, _ := strings.Cut(line, " ")
		if kind == "(implicit TLS)" {
			s.tls = addr
		} else {
			s.plain = addr
		}
	}
	if s.plain == "" || s.tls == "" {
		t.Fatalf("%sserver banner lacks an address: %q", name, p.Stdout())
	}
	t.Cleanup(func() {
		// A server built with -race reports races on stderr; a panic
		// would end it.
		if log := p.Stderr(); strings.Contains(log, "DATA RACE") || strings.Contains(log, "panic:") {
			t.Errorf("%sserver:\n%s", name, log)
		}
	})
	return s
}

// logExpect is what the server's log must show for a case.
type logExpect int

const (
	logOK      logExpect = iota // one success with the mechanism, no failure
	logRefused                  // a failed or abandoned attempt, no success
	logRetry                    // a failed attempt, then a success
	logNone                     // nothing checked (expected failures)
)

// An entry is one authentication line of the server's log, whose slog text
// handler writes key=value pairs.
type entry struct {
	abandoned bool   // "authentication abandoned": the client went away
	mech      string // the mechanism, or "LOGIN command"
	outcome   string // "ok", "authentication failed", ...
}

// entries parses the authentication lines of a server's log.
func entries(log string) []entry {
	var es []entry
	for _, line := range strings.Split(log, "\n") {
		kv := logfmt(line)
		switch kv["msg"] {
		case "authentication":
			es = append(es, entry{mech: kv["mech"], outcome: kv["outcome"]})
		case "authentication abandoned":
			es = append(es, entry{abandoned: true, mech: kv["mech"]})
		}
	}
	return es
}

// logfmt splits a line of key=value pairs, with "quoted" values.
func logfmt(line string) map[string]string {
	kv := make(map[string]string)
	for line != "" {
		line = strings.TrimLeft(line, " ")
		k, rest, ok := strings.Cut(line, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			v = strings.ReplaceAll(rest[1:min(end, len(rest))], `\"`, `"`)
			rest = rest[min(end+1, len(rest)):]
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		kv[k] = v
		line = rest
	}
	return kv
}

// anyMech, as the mechanism a case checks the server's log for, stands for
// any mechanism: smtplib's login() tries each it knows until one succeeds.
const anyMech = "*"

// checkLog waits for the server to log what want says for mechanism mech.
func (s *server) checkLog(mech string, want logExpect) error {
	if want == logNone {
		return nil
	}
	deadline := time.Now().Add(logWait)
	for {
		var ok, failed, other []entry
		for _, e := range entries(s.proc.Stderr()) {
			switch {
			case e.mech != mech && mech != anyMech:
				other = append(other, e)
			case !e.abandoned && e.outcome == "ok":
				ok = append(ok, e)
			case len(ok) == 0:
				failed = append(failed, e)
			default:
				other = append(other, e) // a failure after the success
			}
		}
		var err error
		switch {
		case len(other) > 0:
			err = fmt.Errorf("server log has unexpected entries %+v", other)
		case want == logOK && (len(ok) != 1 || len(failed) > 0):
			err = fmt.Errorf("server log: %d successes and %d failures with %s, want 1 success", len(ok), len(failed), mech)
		case want == logRefused && (len(ok) > 0 || len(failed) != 1):
			err = fmt.Errorf("server log: %d successes and %d failures with %s, want 1 failure", len(ok), len(failed), mech)
		case want == logRetry && (len(ok) != 1 || len(failed) == 0):
			err = fmt.Errorf("server log: %d successes and %d failures with %s, want a failure then a success", len(ok), len(failed), mech)
		}
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				err = fmt.Errorf("%w; log:\n%s", err, s.proc.Stderr())
			}
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A clientCase runs one real client once against its own server.
type clientCase struct {
	Result         // the case's place in the matrix; Status and Reason are filled in
	name    string // the subtest: client/protocol/mechanism/(ok|wrong)
	tool    string // the program it needs
	server  serverOpts
	argv    func(e *env, s *server) []string // the client's command line
	want    int                              // the client's exit status
	logMech string                           // the mechanism as the server logs it
	log     logExpect
	// check, if not nil, is called with the client's stdout and stderr
	// after it exited as expected. If it returns a non-nil error, the
	// case fails.
	check func(stdout, stderr string) error
	// xfail, if not empty, is the known client bug this case runs into:
	// the case must fail, and is recorded as an expected failure.
	xfail string
}

// run runs the case and returns nil if the client and the server did what
// it expects.
func (c *clientCase) run(t *testing.T, e *env) error {
	s := e.startServer(t, c.Proto, c.server)
	argv := c.argv(e, s)
	p := peer.Start(t, &peer.ProcOptions{Timeout: clientTimeout}, argv[0], argv[1:]...)
	code, err := p.Wait()
	if err != nil {
		return err
	}
	if code != c.want {
		return fmt.Errorf("%s exited with %d, want %d\nstdout:\n%s\nstderr:\n%s", p.Name(), code, c.want,
			tail(p.Stdout()), tail(p.Stderr()))
	}
	if c.check != nil {
		if err := c.check(p.Stdout(), p.Stderr()); err != nil {
			return fmt.Errorf("%s: %w\nstderr:\n%s", p.Name(), err, tail(p.Stderr()))
		}
	}
	return s.checkLog(c.logMech, c.log)
}

// tail returns the end of a long output.
func tail(s string) string {
	const max = 4000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}

// results collects the cases' results from parallel subtests.
type results struct {
	mu     sync.Mutex // guards byName
	byName map[string]Result
}

func (rs *results) add(name string, r Result) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.byName[name] = r
}

// TestMain raises the default -parallel: the cases spend their time
// waiting for client and server processes, not computing, so running only
// GOMAXPROCS of them at a time would leave the machine idle. An explicit
// -test.parallel is kept.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := flag.Set("test.parallel", "8"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// TestInterop runs every real client against the example servers, and
// with -update writes the result matrix to docs/interop.md.
func TestInterop(t *testing.T) {
	cases := allCases()
	if err := checkNames(cases); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	rs := &results{byName: make(map[string]Result)}
	t.Cleanup(func() {
		// Runs after every parallel subtest has finished.
		if *update {
			writeMatrix(t, cases, rs)
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := c.Result
			t.Cleanup(func() {
				if t.Skipped() {
					r.Status, r.Reason = Skipped, c.tool+" is not installed"
				}
				rs.add(c.name, r)
			})
			peer.NeedTools(t, c.tool)
			err := c.run(t, e)
			switch {
			case c.xfail != "" && err != nil:
				r.Status, r.Reason = ExpectedFailure, c.xfail
				t.Logf("expected failure (%s): %v", c.xfail, err)
			case c.xfail != "":
				r.Status, r.Reason = Fail, "passed, but expected to fail: "+c.xfail
				t.Errorf("%s; update the case and docs/interop.md", r.Reason)
			case err != nil:
				r.Status, r.Reason = Fail, firstLine(err.Error())
				t.Error(err)
			default:
				r.Status = Pass
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// checkNames makes sure that subtest names are unique and that each names
// client/protocol/mechanism/(ok|wrong).
func checkNames(cases []*clientCase) error {
	seen := make(map[string]bool)
	for _, c := range cases {
		f := strings.Split(c.name, "/")
		if len(f) != 4 || (f[3] != "ok" && f[3] != "wrong") || (f[3] == "wrong") != c.Wrong {
			return fmt.Errorf("case name %q is not client/protocol/mechanism/(ok|wrong)", c.name)
		}
		if seen[c.name] {
			return fmt.Errorf("two cases named %q", c.name)
		}
		seen[c.name] = true
	}
	return nil
}

// writeMatrix renders the results into docs/interop.md. It refuses to
// when some cases did not run (-run chose a subset).
func writeMatrix(t *testing.T, cases []*clientCase, rs *results) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	all := make([]Result, 0, len(cases))
	for _, c := range cases {
		r, ok := rs.byName[c.name]
		if !ok {
			t.Errorf("-update: case %s did not run; run the whole suite: %s", c.name, regenerate)
			return
		}
		all = append(all, r)
	}
	var gen bytes.Buffer
	if err := Render(&gen, all, toolVersions(), regenerate); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Splice(doc, gen.Bytes())
	if err != nil {
		t.Fatalf("%s: %v", docFile, err)
	}
	if err := os.WriteFile(docFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", docFile)
}

// toolVersions returns the first line of each client's version output.
func toolVersions() []Tool {
	var tools []Tool
	for _, v := range [][]string{
		{"curl", "--version"},
		{"gsasl", "--version"},
		{"swaks", "--version"},
		{python, "--version"},
	} {
		version := "not installed"
		if out, err := exec.Command(v[0], v[1:]...).CombinedOutput(); err == nil {
			version = firstLine(strings.TrimSpace(string(out)))
		} else if !errors.Is(err, exec.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
			version = "unknown: " + err.Error()
		}
		tools = append(tools, Tool{Name: filepath.Base(v[0]), Version: version})
	}
	return tools
}

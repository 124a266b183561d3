// Command loadgen compares the logins per second of examples/imapserver
// with those of Dovecot 2.3, on one machine, over loopback. It sets both
// servers up itself from one passwd-file and one certificate, runs
// closed-loop IMAP logins (RFC 3501 AUTHENTICATE with SASL, RFC 4422, run
// by saslkit's client sessions) against each in turn, scenario by
// scenario and round by round, and writes a markdown report: logins/s,
// p50 and p99 latency, and the server's CPU per login read from /proc.
//
//	go run . -duration 10s -conns 32 -rounds 3 -out results.md
//	go run . -scenarios plain,tls -duration 2s -rounds 1
//
// It must run as root to start Dovecot as the unprivileged user nobody;
// see README.md.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/examples/loadgen/imapbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command's flags.
type options struct {
	duration, warmup time.Duration
	conns, rounds    int
	scenarios        string
	servers          string
	out              string
	imapserver, src  string
	dovecot          string
	argon2           string
	work             string
	mixed, keep      bool
	appendOut        bool
	maxOther         float64
	quietWait        time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured `time` per scenario, per server, per round")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "`time` of logins before each measured window, not counted")
	fs.IntVar(&o.conns, "conns", 32, "concurrent `connections`, each logging in again as soon as it has logged out")
	fs.IntVar(&o.rounds, "rounds", 3, "`rounds`: each runs every scenario on every server in turn; the report gives medians")
	fs.StringVar(&o.scenarios, "scenarios", "all", "comma-separated `list` of scenarios: all, or "+scenarioNames())
	fs.StringVar(&o.servers, "servers", "saslkit,dovecot", "comma-separated `list` of servers to run: saslkit, dovecot")
	fs.StringVar(&o.out, "out", "", "markdown report `file` (default: standard output)")
	fs.BoolVar(&o.appendOut, "append", false, "append the report to -out instead of replacing it")
	fs.StringVar(&o.imapserver, "imapserver", "", "examples/imapserver `binary` (default: built with go build from the saslkit module)")
	fs.StringVar(&o.src, "src", "", "saslkit module `directory` to build examples/imapserver in (default: the one this module replaces saslkit with)")
	fs.StringVar(&o.dovecot, "dovecot", imapbench.DefaultDovecot, "dovecot `binary`")
	fs.StringVar(&o.argon2, "argon2", "m=19456,t=2,p=1", "Argon2id `parameters` of the argon2id users: memory KiB, passes, lanes")
	fs.StringVar(&o.work, "work", "", "working `directory` (default: a new temporary one, removed at exit)")
	fs.BoolVar(&o.mixed, "mixed", false, "one passwd-file with every scheme, read by one server of each kind, in place of one file (and one pair of servers) per scheme")
	fs.Float64Var(&o.maxOther, "max-other", 0.3, "`cores` other processes may keep busy (the per-process and whole-machine accounts of /proc differ by a few percent of the busy time): before each run the tool waits (up to -quiet-wait) for the machine to be that quiet, and a run they disturbed more is run again, twice at most; 0 turns this off")
	fs.DurationVar(&o.quietWait, "quiet-wait", 2*time.Minute, "longest `time` to wait for a quiet machine before a run")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory, with the servers' configurations and logs")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	switch {
	case o.duration <= 0:
		return nil, errors.New("-duration must be positive")
	case o.warmup < 0:
		return nil, errors.New("-warmup must not be negative")
	case o.conns < 1 || o.conns > 1000:
		return nil, errors.New("-conns must be between 1 and 1000")
	case o.rounds < 1:
		return nil, errors.New("-rounds must be at least 1")
	}
	return o, nil
}

// parseArgon2 reads "m=KiB,t=passes,p=lanes".
func parseArgon2(s string) (hash.Argon2id, error) {
	var h hash.Argon2id
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return h, fmt.Errorf("-argon2 %q: %s: %w", s, k, err)
		}
		switch k {
		case "m":
			h.Memory = uint32(n)
		case "t":
			h.Time = uint32(n)
		case "p":
			if n > 255 {
				return h, fmt.Errorf("-argon2 %q: p above 255", s)
			}
			h.Threads = uint8(n)
		default:
			return h, fmt.Errorf("-argon2 %q: unknown parameter %q (want m, t, p)", s, k)
		}
	}
	if h.Memory == 0 || h.Time == 0 || h.Threads == 0 {
		return h, fmt.Errorf("-argon2 %q: want m, t and p", s)
	}
	return h, nil
}

// run is the command; it returns the exit code: 0, 1 if a run saw
// unexpected outcomes (the report is written all the same), 2 for an error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	rep, err := compare(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	w := stdout
	if o.out != "" {
		mode := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if o.appendOut {
			mode = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		f, err := os.OpenFile(o.out, mode, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 2
		}
		defer f.Close()
		w = f
	}
	if err := rep.write(w); err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	if n := rep.errors(); n > 0 {
		fmt.Fprintf(stderr, "loadgen: %d unexpected outcomes; see the report\n", n)
		return 1
	}
	return 0
}

// compare sets the servers up, runs the rounds and returns the report.
func compare(ctx context.Context, o *options, log io.Writer) (*report, error) {
	scens, err := scenariosFor(o.scenarios, o.argon2)
	if err != nil {
		return nil, err
	}
	argon, err := parseArgon2(o.argon2)
	if err != nil {
		return nil, err
	}
	which := map[string]bool{}
	for _, s := range strings.Split(o.servers, ",") {
		switch s = strings.TrimSpace(s); s {
		case "saslkit", "dovecot":
			which[s] = true
		case "":
		default:
			return nil, fmt.Errorf("-servers: unknown server %q (want saslkit, dovecot)", s)
		}
	}
	if len(which) == 0 {
		return nil, errors.New("-servers: no server")
	}
	if which["dovecot"] {
		if err := imapbench.HaveDovecot(o.dovecot); err != nil {
			return nil, err
		}
	}

	work := o.work
	if work == "" {
		if work, err = os.MkdirTemp("", "loadgen-"); err != nil {
			return nil, err
		}
		if !o.keep {
			defer os.RemoveAll(work)
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	if work, err = filepath.Abs(work); err != nil {
		return nil, err
	}
	// Dovecot's unprivileged user must reach its directory inside.
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintf(log, "loadgen: working directory %s\n", work)
	}
	cert, key := filepath.Join(work, "server.pem"), filepath.Join(work, "server.key")
	pool, err := imapbench.WriteCertificate(cert, key)
	if err != nil {
		return nil, err
	}
	files := usersFiles(scens, o.mixed)
	users := imapbench.Users{}
	for _, f := range files {
		fmt.Fprintf(log, "loadgen: writing %s: %d users in each of %s\n", f.name, o.conns, strings.Join(f.groups, ", "))
		u, err := imapbench.WriteUsers(filepath.Join(work, f.name), f.groups, o.conns, argon)
		if err != nil {
			return nil, err
		}
		maps.Copy(users, u)
	}

	bin := o.imapserver
	if which["saslkit"] && bin == "" {
		src := o.src
		if src == "" {
			if src, err = imapbench.SourceDir(ctx, "."); err != nil {
				return nil, fmt.Errorf("%w (run in examples/loadgen, or give -src or -imapserver)", err)
			}
		}
		bin = filepath.Join(work, "imapserver")
		fmt.Fprintf(log, "loadgen: go build -o %s ./examples/imapserver (in %s)\n", bin, src)
		if err := imapbench.BuildIMAPServer(ctx, src, bin); err != nil {
			return nil, err
		}
	}

	rep := newReport(o, scens)
	// servers[file] lists the servers reading that passwd-file, in run
	// order: a pair of examples/imapserver and Dovecot per file.
	servers := map[string][]*imapbench.Server{}
	defer func() {
		for _, f := range files {
			for _, s := range servers[f.name] {
				if err := s.Stop(); err != nil {
					fmt.Fprintln(log, "loadgen:", err)
				}
			}
		}
	}()
	for _, f := range files {
		usersFile := filepath.Join(work, f.name)
		if which["saslkit"] {
			dir := filepath.Join(work, f.name+".saslkit")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			cfg := &imapbench.IMAPServerConfig{Bin: bin, Dir: dir, Users: usersFile, Cert: cert, Key: key, Conns: o.conns, Mechs: f.mechs()}
			s, err := imapbench.StartIMAPServer(ctx, cfg)
			if err != nil {
				return nil, err
			}
			servers[f.name] = append(servers[f.name], s)
			args := imapbench.IMAPServerArgs(cfg, "127.0.0.1:PORT", "127.0.0.1:TLS_PORT")
			// The report names the files, not this run's temporary directory.
			for i, a := range args {
				if a == usersFile || a == cert || a == key {
					args[i] = filepath.Base(a)
				}
			}
			rep.imapserverArgs = append(rep.imapserverArgs, args)
		}
		if which["dovecot"] {
			cfg := &imapbench.DovecotConfig{
				Bin: o.dovecot, Dir: filepath.Join(work, f.name+".dovecot"), Users: usersFile, Cert: cert, Key: key,
				Conns: o.conns, Cores: runtime.NumCPU(),
			}
			s, err := imapbench.StartDovecot(ctx, cfg)
			if err != nil {
				return nil, err
			}
			servers[f.name] = append(servers[f.name], s)
			rep.dovecotConfig = imapbench.DovecotConfigText(cfg)
			rep.dovecotVersion = s.Version
		}
		for _, s := range servers[f.name] {
			fmt.Fprintf(log, "loadgen: %s for %s on %s and %s (TLS), PID %d\n", s.Name, f.name, s.Addr, s.TLSAddr, s.Proc.PID())
		}
	}
	for _, s := range servers[files[0].name] {
		rep.servers = append(rep.servers, s.Name)
	}
	rep.files = files
	serversFor := func(sc scenario) []*imapbench.Server {
		for _, f := range files {
			if slices.Contains(f.groups, sc.group) {
				return servers[f.name]
			}
		}
		return nil
	}

	load := func(s *imapbench.Server, sc scenario) *imapbench.Load {
		l := &imapbench.Load{
			Addr: s.Addr, Mechanism: sc.mechanism(o.conns), Accounts: users[sc.group], Wrong: sc.wrong,
			Conns: o.conns, Warmup: o.warmup, Duration: o.duration, ServerCPU: s.CPU,
		}
		if sc.tls {
			l.Addr = s.TLSAddr
			// No session cache: a full handshake every login. X25519 only,
			// as Dovecot's ssl_curve_list.
			l.TLS = &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.X25519}}
		}
		return l
	}
	// One login per scenario per server first: a configuration error shows
	// at once, with the server's log.
	for _, sc := range scens {
		for _, s := range serversFor(sc) {
			_, info, err := load(s, sc).Once(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: first login: %w (log: %s)", sc.name, s.Name, err, s.Log)
			}
			if sc.tls {
				rep.tls[s.Name] = info.String()
			}
		}
	}
	began := time.Now()
	for round := 1; round <= o.rounds; round++ {
		for _, sc := range scens {
			for _, s := range serversFor(sc) {
				r, err := runQuietly(ctx, o, log, load(s, sc))
				if err != nil {
					return nil, fmt.Errorf("%s, %s, round %d: %w", sc.name, s.Name, round, err)
				}
				rep.add(sc.name, s.Name, r)
				fmt.Fprintf(log, "loadgen: round %d/%d %-15s %-7s %7.0f logins/s  p50 %-9s p99 %-9s server CPU/login %-9s errors %d  other CPU %.2f\n",
					round, o.rounds, sc.name, s.Name, r.Rate(), fmtDur(imapbench.Percentile(r.Latencies, 50)),
					fmtDur(imapbench.Percentile(r.Latencies, 99)), fmtDur(r.PerLogin(r.ServerCPU)), r.Errors, r.OtherCPU())
				if r.Err != nil {
					fmt.Fprintf(log, "loadgen:   first unexpected outcome: %v\n", r.Err)
				}
				if sc.tls && r.TLS.Version != 0 && r.TLS.String() != rep.tls[s.Name] {
					rep.tls[s.Name] += "; in a run: " + r.TLS.String()
				}
			}
		}
	}
	rep.elapsed = time.Since(began)
	for _, f := range files {
		for _, s := range servers[f.name] {
			if t, err := s.Proc.Tree(); err == nil && s.Name == "Dovecot" {
				rep.procs[f.name] = t.Counts()
			}
		}
	}
	return rep, nil
}

// runQuietly runs l once the machine is quiet, and again, twice at most, if
// other processes disturbed it; it returns the least disturbed run.
func runQuietly(ctx context.Context, o *options, log io.Writer, l *imapbench.Load) (*imapbench.Result, error) {
	var best *imapbench.Result
	for try := 0; try < 3; try++ {
		if o.maxOther > 0 {
			if err := waitQuiet(ctx, o, log); err != nil {
				return nil, err
			}
		}
		r, err := l.Run(ctx)
		if err != nil {
			return nil, err
		}
		if best == nil || r.OtherCPU() < best.OtherCPU() {
			best = r
		}
		if o.maxOther <= 0 || r.OtherCPU() <= o.maxOther {
			break
		}
		fmt.Fprintf(log, "loadgen: other processes kept %.2f cores busy during the run; running it again\n", r.OtherCPU())
	}
	return best, nil
}

// waitQuiet waits until other processes keep at most o.maxOther cores busy
// over half a second (the servers are idle between runs), or o.quietWait
// has passed.
func waitQuiet(ctx context.Context, o *options, log io.Writer) error {
	deadline := time.Now().Add(o.quietWait)
	for waited := false; ; waited = true {
		self0, m0, err := selfAndMachine()
		if err != nil {
			return err
		}
		t0 := time.Now()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		self1, m1, err := selfAndMachine()
		if err != nil {
			return err
		}
		busy := (m1.Busy - m1.IRQ - m0.Busy + m0.IRQ - (self1 - self0)).Seconds() / time.Since(t0).Seconds()
		if busy <= o.maxOther {
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(log, "loadgen: the machine is still busy (%.2f cores) after %v; running anyway\n", busy, o.quietWait)
			return nil
		}
		if !waited {
			fmt.Fprintf(log, "loadgen: waiting for other processes (%.2f cores busy) to finish\n", busy)
		}
	}
}

// selfAndMachine reads this process's CPU time and the machine's.
func selfAndMachine() (time.Duration, imapbench.MachineCPU, error) {
	m, err := imapbench.ReadMachineCPU("/proc")
	if err != nil {
		return 0, m, err
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, m, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), m, nil
}

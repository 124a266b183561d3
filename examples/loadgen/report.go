package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/saslkit/saslkit/examples/loadgen/imapbench"
)

// report collects the runs and writes them as markdown.
type report struct {
	o              *options
	scens          []scenario
	servers        []string
	runs           map[[2]string][]*imapbench.Result // by scenario and server, in round order
	tls            map[string]string                 // by server
	procs          map[string]map[string]int         // by passwd-file: Dovecot's process counts at the end
	files          []usersFile
	imapserverArgs [][]string
	dovecotConfig  string
	dovecotVersion string
	date           time.Time
	elapsed        time.Duration
}

func newReport(o *options, scens []scenario) *report {
	return &report{
		o: o, scens: scens,
		runs:  make(map[[2]string][]*imapbench.Result),
		tls:   make(map[string]string),
		procs: make(map[string]map[string]int),
		date:  time.Now().UTC(),
	}
}

func (r *report) add(scen, server string, res *imapbench.Result) {
	k := [2]string{scen, server}
	r.runs[k] = append(r.runs[k], res)
}

// errors counts the unexpected outcomes of every run.
func (r *report) errors() int {
	n := 0
	for _, rs := range r.runs {
		for _, x := range rs {
			n += x.Errors
		}
	}
	return n
}

// summary is the medians of one scenario on one server over the rounds.
type summary struct {
	rate               float64
	p50, p99           time.Duration
	serverCPU, selfCPU time.Duration // per login
	errors, logins     int
	firstErr           error
}

func summarize(rs []*imapbench.Result) summary {
	var s summary
	var rates []float64
	var p50, p99, cpu, self []time.Duration
	for _, x := range rs {
		rates = append(rates, x.Rate())
		p50 = append(p50, imapbench.Percentile(x.Latencies, 50))
		p99 = append(p99, imapbench.Percentile(x.Latencies, 99))
		cpu = append(cpu, x.PerLogin(x.ServerCPU))
		self = append(self, x.PerLogin(x.ClientCPU))
		s.errors += x.Errors
		s.logins += x.Logins
		if s.firstErr == nil {
			s.firstErr = x.Err
		}
	}
	s.rate = imapbench.Median(rates)
	s.p50, s.p99 = imapbench.MedianDuration(p50), imapbench.MedianDuration(p99)
	s.serverCPU, s.selfCPU = imapbench.MedianDuration(cpu), imapbench.MedianDuration(self)
	return s
}

func (r *report) write(w io.Writer) error {
	b := bufio.NewWriter(w)
	o := r.o
	if o.appendOut {
		fmt.Fprintf(b, "\n---\n\n")
	}
	fmt.Fprintf(b, "# examples/imapserver and Dovecot: IMAP logins\n\n")
	fmt.Fprintf(b, "Made by examples/loadgen on %s: `go run . %s`. %s. Go %s. %s. %d rounds, run in %v.\n\n",
		r.date.Format("2006-01-02"), strings.Join(flagLine(o), " "), machine(), strings.TrimPrefix(runtime.Version(), "go"),
		dovecotLine(r.dovecotVersion), o.rounds, r.elapsed.Round(time.Second))
	fmt.Fprintf(b, "Each connection of %d loops: connect, TLS handshake for implicit TLS, greeting, AUTHENTICATE with SASL-IR, "+
		"tagged OK or NO, LOGOUT, close. A run is %v of warm-up and %v measured; each round runs a scenario on each server in turn "+
		"(%s), then the next scenario. Figures are medians over the rounds. Latency is from the start of the connect to the tagged "+
		"reply to AUTHENTICATE. Server CPU is user and system time of the server's process tree from /proc (for Dovecot every "+
		"process under the master: master, config, log, anvil, auth, auth-worker, imap-login, imap) over the window, per login; "+
		"client CPU is the load generator's own. The client and both servers share the machine's cores.\n\n",
		o.conns, o.warmup, o.duration, strings.Join(r.servers, ", then "))
	if o.maxOther > 0 {
		fmt.Fprintf(b, "Before each run the tool waited for other processes to keep at most %.2f cores busy, and ran again (twice at "+
			"most, keeping the least disturbed) any run during which they took more: the other CPU column of Every run.\n\n", o.maxOther)
	}

	var logins, refused []scenario
	for _, sc := range r.scens {
		if sc.wrong {
			refused = append(refused, sc)
		} else {
			logins = append(logins, sc)
		}
	}
	if len(logins) > 0 {
		fmt.Fprintf(b, "## Logins\n\n")
		r.table(b, logins, "logins/s", "p50", "p99", "server CPU/login", "client CPU/login")
	}
	if len(refused) > 0 {
		fmt.Fprintf(b, "## Refusals (wrong passwords)\n\n")
		fmt.Fprintf(b, "Failure delays are off on both sides, so that these rows show what a refusal costs: Dovecot with "+
			"`auth_failure_delay = 0` and its per-IP auth penalty off (anvil-auth-penalty unreachable), examples/imapserver with "+
			"`-fail-delay 0 -limit off`. Dovecot 2.3 still holds every failure until its next flush of delayed failures, every "+
			"500 ms (AUTH_FAILURE_DELAY_CHECK_MSECS, src/auth/auth-request-handler.c): its attempts/s is about the connections "+
			"÷ 0.5 s, and only the CPU per attempt compares. (A passdb's `nodelay` extra field would skip the wait, but Dovecot "+
			"drops a passdb's extra fields when the password does not match.) By default "+
			"Dovecot delays each failure by `auth_failure_delay` (2 s), and its auth penalty delays further attempts from an IP "+
			"address that failed, doubling up to 15 s; examples/imapserver has no delay and no limiter by default (`-fail-delay`; "+
			"`-limit memory` delays per address prefix and account from 2 s, doubling up to 15 s). One attempt per connection.\n\n")
		r.table(b, refused, "attempts/s", "refused p50", "refused p99", "server CPU/attempt", "client CPU/attempt")
	}
	if len(r.tls) > 0 {
		fmt.Fprintf(b, "## TLS\n\n")
		fmt.Fprintf(b, "Both servers use the same self-signed ECDSA P-256 certificate and key. The Go client offers X25519 only "+
			"(`tls.Config.CurvePreferences`), keeps no session cache (a full handshake each login) and reports what was "+
			"negotiated; Dovecot has `ssl_curve_list = X25519`.\n\n| Server | negotiated |\n|---|---|\n")
		for _, s := range r.servers {
			if t, ok := r.tls[s]; ok {
				fmt.Fprintf(b, "| %s | %s |\n", s, t)
			}
		}
		fmt.Fprintln(b)
	}
	r.perRound(b)
	r.setup(b)
	return b.Flush()
}

// table writes one row per scenario and server, and a ratio row.
func (r *report) table(b *bufio.Writer, scens []scenario, rate, p50, p99, cpu, self string) {
	fmt.Fprintf(b, "| Scenario | Server | %s | %s | %s | %s | %s | unexpected |\n", rate, p50, p99, cpu, self)
	fmt.Fprintf(b, "|---|---|--:|--:|--:|--:|--:|--:|\n")
	for _, sc := range scens {
		sums := map[string]summary{}
		for i, s := range r.servers {
			title := ""
			if i == 0 {
				title = sc.title
			}
			m := summarize(r.runs[[2]string{sc.name, s}])
			sums[s] = m
			fmt.Fprintf(b, "| %s | %s | %.0f | %s | %s | %s | %s | %d |\n", title, s, m.rate, fmtDur(m.p50), fmtDur(m.p99),
				fmtDur(m.serverCPU), fmtDur(m.selfCPU), m.errors)
		}
		a, okA := sums["saslkit"]
		d, okD := sums["Dovecot"]
		switch {
		case !okA || !okD || d.rate <= 0 || d.serverCPU <= 0:
		case sc.wrong:
			// Dovecot's rate and latency are its failure flush's.
			fmt.Fprintf(b, "| | saslkit ÷ Dovecot | | | | %.2f× | | |\n", ratio(a.serverCPU, d.serverCPU))
		default:
			fmt.Fprintf(b, "| | saslkit ÷ Dovecot | %.2f× | %.2f× | %.2f× | %.2f× | | |\n",
				a.rate/d.rate, ratio(a.p50, d.p50), ratio(a.p99, d.p99), ratio(a.serverCPU, d.serverCPU))
		}
	}
	fmt.Fprintln(b)
	for _, sc := range scens {
		for _, s := range r.servers {
			if m := summarize(r.runs[[2]string{sc.name, s}]); m.firstErr != nil {
				fmt.Fprintf(b, "- %s, %s: first unexpected outcome: %v\n", sc.name, s, m.firstErr)
			}
		}
	}
	fmt.Fprintln(b)
}

func (r *report) perRound(b *bufio.Writer) {
	fmt.Fprintf(b, "## Every run\n\nOther CPU is what the rest of the machine kept busy during the window, in cores: "+
		"the machine's busy time from /proc/stat, less interrupts and softirqs and less the server's and the load generator's "+
		"CPU. A run that others disturbed shows there.\n\n")
	fmt.Fprintf(b, "| Scenario | Server | round | logins/s | p50 | p99 | server CPU/login | logins | unexpected | other CPU |\n")
	fmt.Fprintf(b, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, sc := range r.scens {
		for _, s := range r.servers {
			for i, x := range r.runs[[2]string{sc.name, s}] {
				fmt.Fprintf(b, "| %s | %s | %d | %.0f | %s | %s | %s | %d | %d | %.2f |\n", sc.name, s, i+1, x.Rate(),
					fmtDur(imapbench.Percentile(x.Latencies, 50)), fmtDur(imapbench.Percentile(x.Latencies, 99)),
					fmtDur(x.PerLogin(x.ServerCPU)), x.Logins, x.Errors, x.OtherCPU())
			}
		}
	}
	fmt.Fprintln(b)
}

func (r *report) setup(b *bufio.Writer) {
	fmt.Fprintf(b, "## Setup\n\n")
	fmt.Fprintf(b, "Accounts: %d per group, one per connection, with random passwords: `{PLAIN}`, `{BLF-CRYPT}$2y$%02d$…`, "+
		"`{ARGON2ID}$argon2id$v=19$%s$…` (both from creds/hash) and `{SCRAM-SHA-256}%d,salt,StoredKey,ServerKey` "+
		"(creds.SCRAMKeys.Dovecot). Each passwd-file is read by one examples/imapserver and one Dovecot, started once for the "+
		"whole comparison:\n\n", r.o.conns, imapbench.BcryptCost, r.o.argon2, imapbench.SCRAMIterations)
	for _, f := range r.files {
		fmt.Fprintf(b, "- %s: %s\n", f.name, strings.Join(f.groups, ", "))
	}
	fmt.Fprintf(b, "\nA file that mixes schemes changes what examples/imapserver does: it pads the check of a `{PLAIN}` password "+
		"to the cost of the file's most common hash (creds.Profile.PasswordDecoy), so that clear accounts cannot be told from "+
		"hashed ones by timing. Dovecot does not. `-mixed` runs every scenario on one such file. SCRAM runs without channel "+
		"binding (Dovecot 2.3 has no -PLUS).\n\n")
	if r.imapserverArgs != nil {
		fmt.Fprintf(b, "examples/imapserver, built with `go build ./examples/imapserver`, GOMAXPROCS = cores (%d):\n\n```\n", runtime.NumCPU())
		for _, a := range r.imapserverArgs {
			fmt.Fprintf(b, "imapserver %s\n", strings.Join(a, " "))
		}
		fmt.Fprintf(b, "```\n\n")
	}
	if r.dovecotConfig != "" {
		fmt.Fprintf(b, "Dovecot (`dovecot -F -c dovecot.conf`, run as nobody):\n\n```\n%s```\n\n", r.dovecotConfig)
	}
	for _, f := range r.files {
		if c, ok := r.procs[f.name]; ok {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(c)) {
				parts = append(parts, fmt.Sprintf("%s × %d", k, c[k]))
			}
			fmt.Fprintf(b, "- Dovecot's processes for %s at the end: %s.\n", f.name, strings.Join(parts, ", "))
		}
	}
}

// flagLine gives the flags that shape the figures, for the report.
func flagLine(o *options) []string {
	f := []string{
		"-duration", o.duration.String(), "-warmup", o.warmup.String(), "-conns", fmt.Sprint(o.conns),
		"-rounds", fmt.Sprint(o.rounds), "-scenarios", o.scenarios,
	}
	if o.servers != "saslkit,dovecot" {
		f = append(f, "-servers", o.servers)
	}
	if o.mixed {
		f = append(f, "-mixed")
	}
	if o.argon2 != "m=19456,t=2,p=1" {
		f = append(f, "-argon2", o.argon2)
	}
	return f
}

func dovecotLine(v string) string {
	if v == "" {
		return "No Dovecot"
	}
	return "Dovecot " + v
}

// machine describes the CPU and the kernel.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range bytes.Lines(b) {
			if k, v, ok := strings.Cut(string(l), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d × %s, Linux %s", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)))
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// fmtDur formats a latency or a CPU time with three significant digits or
// so: "412 µs", "2.31 ms", "18.4 ms", "1.20 s".
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

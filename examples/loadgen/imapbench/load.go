package imapbench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/saslkit/saslkit/mech"
)

// DefaultTimeout bounds one login, from connect to close, when
// [Load.Timeout] is zero.
const DefaultTimeout = 30 * time.Second

// errorPause is how long a connection waits after an unexpected error
// before it tries again, so that a server that is down is not hammered.
const errorPause = 10 * time.Millisecond

// Account is a user name and password.
type Account struct {
	Name, Password string
}

// Load is one closed-loop run of logins against one server. Each of its
// Conns connections logs in, logs out and starts again, until Warmup and
// then Duration have passed; only the logins that end within the measured
// window (after Warmup) are counted. Logins under way at the end of the
// window are finished, and not counted. A Load must not be modified while it
// runs.
type Load struct {
	// Addr is the server's address, host:port.
	Addr string
	// TLS, if not nil, is the client's configuration for implicit TLS: a
	// full handshake (the configuration has no session cache, or the
	// benchmark measures resumption) is part of every login. Nil means
	// plain TCP.
	TLS *tls.Config
	// Mechanism is the client mechanism, shared by every connection; the
	// mechanisms of saslkit are safe for concurrent use.
	Mechanism mech.Client
	// Accounts are the users; connection i logs in as Accounts[i %
	// len(Accounts)].
	Accounts []Account
	// Wrong, if set, sends a wrong password, and a login counts if the
	// server refuses it with NO.
	Wrong bool
	// Conns is the number of concurrent connections.
	Conns int
	// Warmup is how long logins run before the measured window; Duration
	// is the window.
	Warmup, Duration time.Duration
	// Timeout bounds each login, from connect to close. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// ServerCPU, if not nil, returns the server's CPU time so far; it is
	// called at the start and at the end of the window.
	ServerCPU func() (time.Duration, error)
}

// TLSInfo is what a TLS connection negotiated.
type TLSInfo struct {
	Version, CipherSuite uint16
	Curve                tls.CurveID
}

// String gives the version, cipher suite and key exchange group, as "TLS
// 1.3, TLS_AES_128_GCM_SHA256, X25519", or "none".
func (t TLSInfo) String() string {
	if t.Version == 0 {
		return "none"
	}
	return fmt.Sprintf("%s, %s, %s", tls.VersionName(t.Version), tls.CipherSuiteName(t.CipherSuite), t.Curve)
}

// Result is the outcome of a [Load].
type Result struct {
	// Logins counts the logins that ended in the window with the expected
	// outcome: OK (and a server the client session accepted, SCRAM's v=
	// verified) or, for a Wrong load, NO.
	Logins int
	// Errors counts unexpected outcomes during the whole run, warm-up
	// included; Err is the first.
	Errors int
	Err    error
	// Window is the measured time.
	Window time.Duration
	// Latencies holds, for each counted login, the time from the start of
	// the connect to the tagged reply to AUTHENTICATE.
	Latencies []time.Duration
	// ServerCPU is the server's CPU time in the window (zero without
	// Load.ServerCPU); ClientCPU is this process's.
	ServerCPU, ClientCPU time.Duration
	// Machine is the busy time of all the machine's CPUs in the window;
	// less the IRQ part, the server's and the client's, it is what other
	// processes took ([Result.OtherCPU]).
	Machine MachineCPU
	// TLS is what the last TLS connection negotiated.
	TLS TLSInfo
}

// Rate returns the counted logins per second of the window.
func (r *Result) Rate() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Logins) / r.Window.Seconds()
}

// OtherCPU returns the average number of cores that processes other than
// the server and this one kept busy during the window: a disturbed run
// shows here.
func (r *Result) OtherCPU() float64 {
	if r.Window <= 0 {
		return 0
	}
	return max(0, (r.Machine.Busy-r.Machine.IRQ-r.ServerCPU-r.ClientCPU).Seconds()/r.Window.Seconds())
}

// IRQCPU returns the average number of cores busy with interrupts and
// softirqs during the window, which no process is charged for: on
// loopback, much of the network stack.
func (r *Result) IRQCPU() float64 {
	if r.Window <= 0 {
		return 0
	}
	return r.Machine.IRQ.Seconds() / r.Window.Seconds()
}

// PerLogin divides d by the number of counted logins; zero if none.
func (r *Result) PerLogin(d time.Duration) time.Duration {
	if r.Logins == 0 {
		return 0
	}
	return d / time.Duration(r.Logins)
}

// sample is one finished login.
type sample struct {
	end     time.Time
	latency time.Duration
}

// worker is what one connection saw; only its goroutine writes it until
// the run is over.
type worker struct {
	samples []sample
	errors  int
	err     error
	tls     TLSInfo
}

// Run runs the load and returns its result. It returns an error if the
// load is misconfigured, if ctx ends first, or if ServerCPU fails;
// unexpected login outcomes are counted in the Result, not returned.
func (l *Load) Run(ctx context.Context) (*Result, error) {
	switch {
	case l.Conns < 1:
		return nil, errors.New("imapbench: Conns must be at least 1")
	case l.Duration <= 0:
		return nil, errors.New("imapbench: Duration must be positive")
	case len(l.Accounts) == 0:
		return nil, errors.New("imapbench: no accounts")
	case l.Mechanism == nil:
		return nil, errors.New("imapbench: no mechanism")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	stop := make(chan struct{}) // closed at the end of the window
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	workers := make([]worker, l.Conns)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &workers[i]
			a := l.Accounts[i%len(l.Accounts)]
			for ctx.Err() == nil && !stopped() {
				lat, info, err := l.login(ctx, a)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					w.errors++
					if w.err == nil {
						w.err = err
					}
					time.Sleep(errorPause)
					continue
				}
				w.samples = append(w.samples, sample{time.Now(), lat})
				if info.Version != 0 {
					w.tls = info
				}
			}
		}()
	}

	var (
		s0, s1     snapshot
		measureErr error
	)
	if measureErr = sleepUntil(ctx, start.Add(l.Warmup)); measureErr == nil {
		s0, measureErr = l.snapshot()
	}
	if measureErr == nil {
		measureErr = sleepUntil(ctx, s0.at.Add(l.Duration))
	}
	if measureErr == nil {
		s1, measureErr = l.snapshot()
	}
	close(stop)
	if measureErr != nil {
		cancel()
	}
	wg.Wait()
	if measureErr != nil {
		return nil, measureErr
	}

	t0, t1 := s0.at, s1.at
	r := &Result{Window: t1.Sub(t0), ServerCPU: s1.server - s0.server, ClientCPU: s1.self - s0.self, Machine: MachineCPU{s1.machine.Busy - s0.machine.Busy, s1.machine.IRQ - s0.machine.IRQ}}
	for i := range workers {
		w := &workers[i]
		for _, s := range w.samples {
			if !s.end.Before(t0) && !s.end.After(t1) {
				r.Logins++
				r.Latencies = append(r.Latencies, s.latency)
			}
		}
		r.Errors += w.errors
		if r.Err == nil {
			r.Err = w.err
		}
		if w.tls.Version != 0 {
			r.TLS = w.tls
		}
	}
	return r, nil
}

// Once runs one login, for a check before a run, and returns its latency
// and what TLS negotiated.
func (l *Load) Once(ctx context.Context) (time.Duration, TLSInfo, error) {
	if len(l.Accounts) == 0 || l.Mechanism == nil {
		return 0, TLSInfo{}, errors.New("imapbench: no accounts or no mechanism")
	}
	return l.login(ctx, l.Accounts[0])
}

// snapshot is the clock and the CPU times at one moment.
type snapshot struct {
	at           time.Time
	server, self time.Duration
	machine      MachineCPU
}

// snapshot reads the machine's, this process's and the server's CPU, and
// the time.
func (l *Load) snapshot() (snapshot, error) {
	var s snapshot
	var err error
	if s.machine, err = ReadMachineCPU("/proc"); err != nil {
		return s, err
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, fmt.Errorf("imapbench: getrusage: %w", err)
	}
	s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if l.ServerCPU != nil {
		if s.server, err = l.ServerCPU(); err != nil {
			return s, fmt.Errorf("imapbench: server CPU: %w", err)
		}
	}
	s.at = time.Now()
	return s, nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

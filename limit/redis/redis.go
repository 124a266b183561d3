package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/saslkit/saslkit/limit"
)

// ErrUnavailable is wrapped by the errors a [Limiter] returns when Redis did
// not answer, or answered with an error, within [Config.Timeout]. It is a
// temporary failure. The error also wraps go-redis's error, which names
// the server's address but holds no secret.
var ErrUnavailable = errors.New("saslkit/limit/redis: redis unavailable")

// ErrURL is wrapped by the error [Open] returns for a URL it cannot use.
// The error never quotes the URL, which may hold a password.
var ErrURL = errors.New("saslkit/limit/redis: invalid redis URL")

// ErrorMode is what a [Limiter] does when Redis fails it.
type ErrorMode int

const (
	// FailClosed refuses: Check returns Verdict{Refuse: true} and an error
	// wrapping [ErrUnavailable], and Failed and Succeeded return that
	// error. Protocol code answers the attempt as a temporary failure
	// (limit.Wait returns [limit.ErrRefused]; IMAP "NO [UNAVAILABLE]",
	// SMTP 454), never as an authentication failure, since no
	// credentials were checked. It is the zero ErrorMode.
	FailClosed ErrorMode = iota
	// Fallback uses an in-process [limit.Memory] with the same policy
	// until Redis answers again, and returns no error: while it lasts the
	// limit is per node, and each node starts from no failures. Failures
	// the node recorded meanwhile are not copied to Redis; they keep
	// counting on that node until they decay (Check then returns the
	// stricter of Redis's verdict and the node's).
	Fallback
)

// Defaults.
const (
	DefaultPrefix  = "saslkit:limit:"
	DefaultTimeout = 250 * time.Millisecond
	DefaultRetry   = time.Second
)

// maxName bounds the length of a key name kept as it is in Redis; longer
// names (account names the client chose) are replaced by their hash.
const maxName = 256

// Config configures a [Limiter]. The zero value means the defaults. A
// Config may not be modified after it is passed to [New] or [Open].
type Config struct {
	// Limit is the policy, as for [limit.Memory]. Every node sharing a
	// Redis must use the same Limit, with the same Secret: a nil Secret
	// means a random one per process, and a repeated wrong secret then
	// counts again on each node.
	Limit limit.Config
	// Prefix starts the name of every Redis key the limiter uses. Empty
	// means [DefaultPrefix].
	Prefix string
	// OnError is what happens when Redis fails; the zero value is
	// [FailClosed].
	OnError ErrorMode
	// Timeout bounds every call to Redis, whatever the deadline of the
	// caller's context. Zero means [DefaultTimeout].
	Timeout time.Duration
	// Retry is how long, after a call to Redis failed, the limiter acts as
	// if Redis were down without calling it; then one call tries Redis
	// again. Zero means [DefaultRetry].
	Retry time.Duration
	// Report, if not nil, is called with each error from Redis (wrapping
	// [ErrUnavailable]), in either mode, for logging: with [Fallback] the
	// limiter's methods return none. It must be safe for concurrent use
	// and must not block.
	Report func(error)
}

// Limiter is a [limit.Limiter] kept in Redis, shared by every node that
// uses the same Redis, [Config.Prefix] and [Config.Limit]. It is safe for
// concurrent use.
type Limiter struct {
	client  goredis.UniversalClient
	owned   bool // Open made client; Close closes it
	policy  limit.Policy
	prefix  string
	mode    ErrorMode
	timeout time.Duration
	retry   time.Duration
	report  func(error)
	// guard is set when the client may not honour contexts' deadlines
	// (go-redis's Options.ContextTimeoutEnabled): calls then run on a
	// goroutine of their own that the limiter stops waiting for.
	guard bool

	mem      *limit.Memory // the Fallback limiter; nil with FailClosed
	fellBack atomic.Bool   // mem has recorded a failure
	down     atomic.Pointer[outage]
}

// outage is a failure of Redis: until when the limiter leaves Redis
// alone, and the error that started it.
type outage struct {
	until time.Time
	err   error
}

var _ limit.Limiter = (*Limiter)(nil)

// New returns a limiter that keeps its state in Redis through client, which
// the caller keeps and closes. Every call is bounded by [Config.Timeout]
// through its context's deadline; a *goredis.Client without
// Options.ContextTimeoutEnabled ignores that deadline on the socket, and
// the limiter then stops waiting for it at the deadline but leaves the
// call running until the client's own read and write timeouts. New does not
// contact Redis. A nil cfg means the zero Config.
func New(client goredis.UniversalClient, cfg *Config) *Limiter {
	if cfg == nil {
		cfg = &Config{}
	}
	l := &Limiter{
		client:  client,
		policy:  cfg.Limit.Policy(),
		prefix:  cfg.Prefix,
		mode:    cfg.OnError,
		timeout: cfg.Timeout,
		retry:   cfg.Retry,
		report:  cfg.Report,
		guard:   true,
	}
	if l.prefix == "" {
		l.prefix = DefaultPrefix
	}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	if l.retry <= 0 {
		l.retry = DefaultRetry
	}
	if c, ok := client.(*goredis.Client); ok && c.Options().ContextTimeoutEnabled {
		l.guard = false
	}
	if l.mode == Fallback {
		l.mem = &limit.Memory{Config: cfg.Limit}
		// The fallback must fingerprint as Redis's keys do, even with a
		// per-process secret.
		l.mem.Config.Secret = l.policy.Secret
	}
	return l
}

// Open connects to the Redis server named by a URL in go-redis's syntax:
// redis://[user:password@]host[:port][/db] (rediss:// for TLS, unix:///path
// for a socket), with options as query parameters (dial_timeout,
// pool_size, ...). Timeouts the URL does not set are [Config.Timeout], and
// the client honours contexts' deadlines. Open pings the server, bounded
// by ctx and Timeout, so that a wrong address or password shows at
// startup; use [New] to start without Redis. Errors wrap [ErrURL] or
// [ErrUnavailable]. Close the limiter to close its connections.
func Open(ctx context.Context, rawURL string, cfg *Config) (*Limiter, error) {
	opt, err := goredis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Error quotes the URL, password and all.
			return nil, fmt.Errorf("%w: not a URL", ErrURL)
		}
		return nil, fmt.Errorf("%w: %v", ErrURL, err)
	}
	l := New(nil, cfg)
	if opt.DialTimeout == 0 {
		opt.DialTimeout = l.timeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = l.timeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = l.timeout
	}
	opt.ContextTimeoutEnabled = true
	l.client, l.owned, l.guard = goredis.NewClient(opt), true, false
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if err := l.client.Ping(cctx).Err(); err != nil {
		l.client.Close()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return l, nil
}

// Close closes the connections to Redis if [Open] made them; a client the
// caller passed to [New] is the caller's to close.
func (l *Limiter) Close() error {
	if l.owned {
		return l.client.Close()
	}
	return nil
}

// Check implements [limit.Limiter]. If Redis fails, it returns what
// [Config.OnError] says, with an error wrapping [ErrUnavailable] in
// [FailClosed] mode. If ctx ends first it returns Verdict{Refuse: true}
// and ctx's error.
func (l *Limiter) Check(ctx context.Context, a limit.Attempt) (limit.Verdict, error) {
	addr, user := limit.Keys(a)
	keys := make([]string, 0, 2)
	if addr != "" {
		keys = append(keys, l.key("tat:", addr))
	}
	if user != "" {
		keys = append(keys, l.key("tat:", user))
	}
	if len(keys) == 0 {
		return limit.Verdict{}, nil
	}
	res, err := call(l, ctx, func(ctx context.Context) ([]string, error) {
		return checkScript.Run(ctx, l.client, keys).StringSlice()
	})
	var v limit.Verdict
	if err == nil {
		if v, err = l.verdict(res, addr != "", user != ""); err != nil {
			err = l.failed(err)
		}
	}
	switch {
	case err == nil:
		if l.fellBack.Load() {
			mv, _ := l.mem.Check(ctx, a)
			v = stricter(v, mv)
		}
		return v, nil
	case l.mode == Fallback && ctx.Err() == nil:
		return l.mem.Check(ctx, a)
	default:
		return limit.Verdict{Refuse: true}, err
	}
}

// verdict returns the verdict of checkScript's reply res, for an attempt
// with an address key, an account key or both, in that order.
func (l *Limiter) verdict(res []string, hasAddr, hasUser bool) (limit.Verdict, error) {
	want := 2
	if hasAddr {
		want++
	}
	if hasUser {
		want++
	}
	if len(res) != want {
		return limit.Verdict{}, fmt.Errorf("check script replied %d values, want %d", len(res), want)
	}
	sec, err1 := strconv.ParseInt(res[0], 10, 64)
	usec, err2 := strconv.ParseInt(res[1], 10, 64)
	if err1 != nil || err2 != nil {
		return limit.Verdict{}, errors.New("check script replied a malformed TIME")
	}
	now := time.Unix(sec, usec*1000)
	owed := func(v string, burst int) (int, error) {
		if v == "" {
			return 0, nil
		}
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, errors.New("a TAT key holds a malformed value")
		}
		return l.policy.Owed(time.Unix(0, ns), now, burst), nil
	}
	var na, nu int
	var err error
	res = res[2:]
	if hasAddr {
		if na, err = owed(res[0], l.policy.BurstAddr); err != nil {
			return limit.Verdict{}, err
		}
		res = res[1:]
	}
	if hasUser {
		if nu, err = owed(res[0], l.policy.Burst); err != nil {
			return limit.Verdict{}, err
		}
	}
	return l.policy.Verdict(na, nu), nil
}

// stricter returns the stricter of two verdicts.
func stricter(a, b limit.Verdict) limit.Verdict {
	if a.Refuse || b.Refuse {
		return limit.Verdict{Refuse: true}
	}
	return limit.Verdict{Delay: max(a.Delay, b.Delay)}
}

// Failed implements [limit.Limiter]. It records the failure even if ctx
// is cancelled (a client that hangs up after a wrong password is not let
// off), within [Config.Timeout]. If Redis fails, it returns an error
// wrapping [ErrUnavailable] in [FailClosed] mode; with [Fallback] it
// records the failure in memory and returns nil.
func (l *Limiter) Failed(ctx context.Context, a limit.Attempt) error {
	ctx = context.WithoutCancel(ctx)
	addr, user := limit.Keys(a)
	keep := l.policy.Repeats
	if a.Secret == nil {
		keep = 0
	}
	keys := make([]string, 0, 4)
	args := make([]any, 1, 7)
	args[0] = keep
	for _, k := range []struct {
		name  string
		burst int
	}{{addr, l.policy.BurstAddr}, {user, l.policy.Burst}} {
		if k.name == "" {
			continue
		}
		iv := l.policy.Interval(k.burst)
		var fp []byte
		if keep > 0 {
			f := l.policy.Fingerprint(k.name, a.Secret)
			fp = f[:]
		}
		keys = append(keys, l.key("tat:", k.name), l.key("fp:", k.name))
		args = append(args, int64(iv/time.Second), int64(iv%time.Second), fp)
	}
	if len(keys) == 0 {
		return nil
	}
	_, err := call(l, ctx, func(ctx context.Context) (any, error) {
		return nil, failScript.Run(ctx, l.client, keys, args...).Err()
	})
	if err == nil {
		return nil
	}
	if l.mode == Fallback {
		l.fellBack.Store(true)
		return l.mem.Failed(ctx, a)
	}
	return err
}

// Succeeded implements [limit.Limiter]: it deletes the account's keys,
// even if ctx is cancelled, within [Config.Timeout]. If Redis fails, it
// returns an error wrapping [ErrUnavailable] in [FailClosed] mode, and nil
// with [Fallback]; either way the account keeps its failures in Redis
// until they decay.
func (l *Limiter) Succeeded(ctx context.Context, a limit.Attempt) error {
	ctx = context.WithoutCancel(ctx)
	_, user := limit.Keys(a)
	if user == "" {
		return nil
	}
	if l.mem != nil {
		l.mem.Succeeded(ctx, a)
	}
	_, err := call(l, ctx, func(ctx context.Context) (int64, error) {
		return l.client.Del(ctx, l.key("tat:", user), l.key("fp:", user)).Result()
	})
	if err != nil && l.mode == Fallback {
		return nil
	}
	return err
}

// key returns the Redis key of kind ("tat:" or "fp:") for the limiter key
// name.
func (l *Limiter) key(kind, name string) string {
	if len(name) > maxName {
		sum := sha256.Sum256([]byte(name))
		// "h:" starts no name limit.Keys returns.
		name = "h:" + hex.EncodeToString(sum[:])
	}
	return l.prefix + kind + name
}

// call runs f with ctx bounded by l's timeout, unless Redis is down, and
// returns its result or an error wrapping [ErrUnavailable]. If ctx (the
// caller's) ends first, call returns ctx's error, which does not count
// against Redis.
func call[T any](l *Limiter, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	var zero T
	if o := l.down.Load(); o != nil {
		if time.Now().Before(o.until) {
			return zero, o.err
		}
		// One caller tries Redis again; meanwhile the others keep
		// treating it as down.
		if !l.down.CompareAndSwap(o, &outage{until: time.Now().Add(l.retry), err: o.err}) {
			return zero, o.err
		}
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	var v T
	var err error
	if l.guard {
		v, err = guarded(cctx, f)
	} else {
		v, err = f(cctx)
	}
	switch {
	case err == nil:
		if l.down.Load() != nil {
			l.down.Store(nil)
		}
		return v, nil
	case ctx.Err() != nil:
		return zero, ctx.Err()
	default:
		return zero, l.failed(err)
	}
}

// guarded runs f on a goroutine of its own and returns its result, or
// ctx's error when ctx ends first: for clients that do not honour
// contexts' deadlines.
func guarded[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// failed records that Redis failed with err and returns the error to
// return for it.
func (l *Limiter) failed(err error) error {
	err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	l.down.Store(&outage{until: time.Now().Add(l.retry), err: err})
	if l.report != nil {
		l.report(err)
	}
	return err
}

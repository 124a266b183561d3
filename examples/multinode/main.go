// Command multinode is the IMAP server of examples/imapserver made to run
// as one of several nodes: the accounts are in PostgreSQL
// (store/postgres), which every node reads, and the failed-login limiter
// is in Redis (limit/redis), so that a brute-force run spread over the
// nodes meets one limit. Each node may keep looked-up accounts in a cache
// of its own for -cache-ttl.
//
//	multinode -pg 'host=db dbname=mail user=saslkit' -migrate
//	multinode -pg 'host=db dbname=mail user=saslkit' -redis redis://limiter:6379/0 \
//		-secret-file /etc/saslkit/secret -cache-ttl 30s -listen :143
//
// It has every flag of examples/imapserver (-h lists them) except -users,
// whose place the database takes, and these:
//
//	-pg DSN                PostgreSQL connection string or URL (required)
//	-pg-schema NAME        schema of the tables (default saslkit)
//	-pg-timeout D          bound on each query (default 2s)
//	-pg-profile-refresh D  how often the accounts' profile is read again (default 1m)
//	-migrate               apply the schema and exit
//	-redis URL             shared limiter in Redis (default: none, or -limit memory)
//	-redis-on-error MODE   closed (refuse logins) or fallback (per-node limits)
//	                       when Redis fails (default closed)
//	-redis-timeout D       bound on each call to Redis (default 250ms)
//	-redis-retry D         how long Redis is left alone after a failure (default 1s)
//	-redis-prefix P        prefix of the limiter's Redis keys (default saslkit:limit:)
//
// The -limit-* flags set the limiter's policy, in Redis as in memory.
// Nodes sharing a Redis must share the policy and the -secret-file: the
// limiter's secret, which keys the fingerprints of wrong passwords, is
// derived from the server secret, so that a client repeating one wrong
// password on several nodes is recognised on each.
//
// A store or limiter failure is answered NO [UNAVAILABLE], never NO
// [AUTHENTICATIONFAILED]. A node does not start if the database cannot be
// reached; nor if Redis cannot, unless -redis-on-error is fallback.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/examples/internal/imapd"
	"github.com/saslkit/saslkit/limit/redis"
	"github.com/saslkit/saslkit/store/postgres"
)

// DefaultListen is where the server listens without -listen.
const DefaultListen = "127.0.0.1:1143"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the flags of this program, beyond authserver's.
type options struct {
	pg             string
	schema         string
	pgTimeout      time.Duration
	profileRefresh time.Duration
	migrate        bool
	redis          string
	onError        string
	redisTimeout   time.Duration
	redisRetry     time.Duration
	redisPrefix    string
}

func (o *options) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.pg, "pg", "", "PostgreSQL connection `string` or URL of the accounts (required); keep its password in a passfile or PGPASSWORD")
	fs.StringVar(&o.schema, "pg-schema", postgres.DefaultSchema, "PostgreSQL `schema` that holds the tables")
	fs.DurationVar(&o.pgTimeout, "pg-timeout", postgres.DefaultQueryTimeout, "bound on each PostgreSQL query (`duration`)")
	fs.DurationVar(&o.profileRefresh, "pg-profile-refresh", postgres.DefaultProfileRefresh, "how often the accounts' cost profile is read again (`duration`)")
	fs.BoolVar(&o.migrate, "migrate", false, "apply the schema to the database and exit")
	fs.StringVar(&o.redis, "redis", "", "redis:// `URL` of the failed-login limiter the nodes share (default: none)")
	fs.StringVar(&o.onError, "redis-on-error", "closed", "what a failure of Redis does: closed (refuse logins) or fallback (per-node limits in memory)")
	fs.DurationVar(&o.redisTimeout, "redis-timeout", redis.DefaultTimeout, "bound on each call to Redis (`duration`)")
	fs.DurationVar(&o.redisRetry, "redis-retry", redis.DefaultRetry, "how long Redis is left alone after it failed (`duration`)")
	fs.StringVar(&o.redisPrefix, "redis-prefix", redis.DefaultPrefix, "`prefix` of the limiter's Redis keys")
}

// run is main with its arguments and output: it returns the exit status,
// 0 after a signal or -migrate, 1 when the server cannot start, 2 for bad
// flags.
func run(args []string, stdout, stderr io.Writer) int {
	// A first parse, silent, finds -migrate and a missing -pg; the usage
	// and errors are authserver.MainWith's, which parses again.
	var pre options
	fs := flag.NewFlagSet("imapserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := authserver.DefaultConfig(DefaultListen)
	cfg.AddFlags(fs)
	pre.addFlags(fs)
	if err := fs.Parse(args); err == nil {
		if pre.pg == "" {
			fmt.Fprintln(stderr, "multinode: -pg is required")
			return 2
		}
		if pre.migrate {
			return migrate(&pre, stdout, stderr)
		}
	}
	var o options
	extra := func(fs *flag.FlagSet) func(context.Context, *authserver.Config) (io.Closer, error) {
		o.addFlags(fs)
		return func(ctx context.Context, cfg *authserver.Config) (io.Closer, error) {
			return o.finish(ctx, cfg, slog.New(slog.NewTextHandler(stderr, nil)))
		}
	}
	return authserver.MainWith("imap", authserver.DefaultConfig(DefaultListen), imapd.NewServer, extra, args, stdout, stderr)
}

// storeConfig is the store's configuration from the flags.
func (o *options) storeConfig(migrate bool) *postgres.Config {
	return &postgres.Config{Schema: o.schema, QueryTimeout: o.pgTimeout, ProfileRefresh: o.profileRefresh, Migrate: migrate}
}

// migrate applies the schema and reports it.
func migrate(o *options, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, o.pg, o.storeConfig(true))
	if err != nil {
		fmt.Fprintf(stderr, "multinode: -migrate: %v\n", err)
		return 1
	}
	s.Close()
	fmt.Fprintf(stdout, "schema %s is up to date\n", o.schema)
	return 0
}

// closers closes each of its members, in order.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// storeCloser adapts the store's Close, which returns nothing.
type storeCloser struct{ s *postgres.Store }

func (c storeCloser) Close() error { c.s.Close(); return nil }

// finish opens the store and the limiter the flags name and puts them in
// cfg.
func (o *options) finish(ctx context.Context, cfg *authserver.Config, log *slog.Logger) (io.Closer, error) {
	var mode redis.ErrorMode
	switch o.onError {
	case "closed":
		mode = redis.FailClosed
	case "fallback":
		mode = redis.Fallback
	default:
		return nil, fmt.Errorf("-redis-on-error %q: want closed or fallback", o.onError)
	}
	if cfg.UsersFile != "" {
		return nil, errors.New("-users: the accounts are in the database (-pg)")
	}
	if o.redis != "" && cfg.Limit != "" && cfg.Limit != "off" {
		return nil, fmt.Errorf("-redis and -limit %s: choose one limiter", cfg.Limit)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, err := postgres.Open(octx, o.pg, o.storeConfig(false))
	if err != nil {
		return nil, err
	}
	cfg.Store = store
	cs := closers{storeCloser{store}}
	if o.redis == "" {
		return cs, nil
	}
	lc := cfg.LimitConfig
	if cfg.SecretFile == "" {
		log.Warn("no -secret-file: the limiter's secret is this process's own, and a wrong password repeated on another node counts again there")
	} else {
		secret, err := authserver.LoadSecret(cfg.SecretFile, log)
		if err != nil {
			cs.Close()
			return nil, err
		}
		lc.Secret = limitSecret(secret)
	}
	rc := &redis.Config{
		Limit:   lc,
		Prefix:  o.redisPrefix,
		OnError: mode,
		Timeout: o.redisTimeout,
		Retry:   o.redisRetry,
		Report:  func(err error) { log.Warn("limiter", "err", err) },
	}
	lim, err := redis.Open(octx, o.redis, rc)
	if err != nil && mode == redis.Fallback && errors.Is(err, redis.ErrUnavailable) {
		// The fallback is for Redis being down, at start as later.
		log.Warn("Redis does not answer; limiting per node until it does", "err", err)
		var client io.Closer
		if lim, client, err = newUnchecked(o.redis, rc); err == nil {
			cs = append(cs, client)
		}
	}
	if err != nil {
		cs.Close()
		return nil, fmt.Errorf("-redis: %w", err)
	}
	cfg.Limiter = lim
	// The limiter first: it closes the connections Open made.
	return append(closers{lim}, cs...), nil
}

// newUnchecked returns the limiter [redis.Open] would, without pinging
// Redis first, and the client to close when done.
func newUnchecked(rawURL string, rc *redis.Config) (*redis.Limiter, io.Closer, error) {
	opt, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, nil, redis.ErrURL // Open's error says more, without the URL
	}
	t := rc.Timeout
	if t <= 0 {
		t = redis.DefaultTimeout
	}
	for _, d := range []*time.Duration{&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout} {
		if *d == 0 {
			*d = t
		}
	}
	opt.ContextTimeoutEnabled = true
	client := goredis.NewClient(opt)
	return redis.New(client, rc), client, nil
}

// limitSecret derives the limiter's secret (limit.Config.Secret) from
// the server secret, so that the nodes sharing a -secret-file share it,
// and the two secrets are not the same key.
func limitSecret(serverSecret []byte) []byte {
	m := hmac.New(sha256.New, serverSecret)
	m.Write([]byte("saslkit examples/multinode limit secret"))
	return m.Sum(nil)
}

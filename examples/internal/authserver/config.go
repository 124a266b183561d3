package authserver

import (
	"flag"
	"strings"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/limit"
)

// Defaults for [Config].
const (
	// DefaultAuthTimeout is how long a client may take to send a line.
	DefaultAuthTimeout = 60 * time.Second
	// DefaultMaxConns is the default cap on concurrent connections.
	DefaultMaxConns = 1000
	// MaxLine is the longest line a client may send, CRLF included: room
	// for a base64 SASL message of the session's default size limit and
	// the command around it.
	MaxLine = 64 << 10
	// MaxFailures is how many failed authentication attempts a connection
	// may make; the server then says goodbye and closes it. The cap keeps
	// one connection from guessing passwords at wire speed.
	MaxFailures = 5
)

// Config is the configuration the example servers share, usually filled in
// from the command line by [Config.AddFlags]. The zero value listens
// nowhere; [DefaultConfig] gives the servers' defaults.
type Config struct {
	// Listen is the address for plain connections, which may upgrade with
	// STARTTLS. Empty means none.
	Listen string
	// ListenTLS is the address for implicit TLS. Empty means none.
	ListenTLS string
	// CertFile and KeyFile hold the server's certificate chain and key in
	// PEM. If both are empty, a self-signed certificate for localhost and
	// 127.0.0.1 is made at start.
	CertFile, KeyFile string
	// ClientCAFile holds the CA certificates, in PEM, that client
	// certificates are verified against. If set, the server asks for a
	// client certificate, and a verified one's common name is the identity
	// EXTERNAL authenticates. If empty, no client certificate is asked for.
	ClientCAFile string
	// UsersFile is a Dovecot passwd-file ([ParseUsers]). If empty, the
	// server has one user, "user", with the password "pencil".
	UsersFile string
	// TokensFile holds "name:token" lines ([ParseTokens]). If empty and
	// UsersFile is empty too, the token "tok123" belongs to "user";
	// otherwise no token is accepted.
	TokensFile string
	// Mechs lists the mechanisms to offer, comma-separated, in preference
	// order. Empty means [DefaultMechanisms].
	Mechs string
	// InsecureAuth offers the mechanisms that send a reusable secret in the
	// clear (PLAIN and LOGIN a password, OAUTHBEARER and XOAUTH2 a bearer
	// token) and the IMAP LOGIN command on connections without TLS.
	InsecureAuth bool
	// NoSASLIR leaves SASL-IR (RFC 4959) out of the IMAP server's
	// capabilities, so that clients send no initial response. The server
	// still accepts one.
	NoSASLIR bool
	// AuthTimeout is how long the server waits for each line from a
	// client, within an exchange or between commands, before it drops the
	// client. Zero means DefaultAuthTimeout.
	AuthTimeout time.Duration
	// FailDelay is how long the server waits before it answers a failed
	// authentication, on that connection only (Dovecot's auth penalty).
	// Zero means no delay.
	FailDelay time.Duration
	// MaxConns caps the number of connections served at once; a client
	// past the cap is told so and disconnected. Zero means
	// DefaultMaxConns.
	MaxConns int
	// SecretFile holds the server secret ([creds.Verifier.Secret]) that
	// the mock SCRAM salts and keys of unknown users are derived from, so
	// that an unknown user is given the same salt across restarts, as a
	// real user is. If the file does not exist, it is created with
	// [SecretSize] random octets, readable by its owner only. If empty, a
	// random secret is made at every start, and an unknown user's salt
	// changes with each restart.
	SecretFile string
	// MaxVerify is the most password checks (hash computations, decoys
	// included) that run at once ([creds.Verifier.MaxConcurrent]). Zero
	// means runtime.GOMAXPROCS(0).
	MaxVerify int

	// Store, if not nil, holds the accounts in place of UsersFile: a
	// store the program opened itself, such as examples/multinode's
	// PostgreSQL store. It is not a flag.
	Store creds.Store
	// Upgrade lists SCRAM hashes ("SHA-256") whose keys a verified
	// password gives an account that lacks them, when the store can save
	// them ([creds.Verifier.Upgrade]).
	Upgrade string
	// CacheTTL, if positive, puts a read-through cache ([cache.Store]) in
	// front of the store, keeping found accounts this long and unknown
	// names CacheMissTTL (zero: the cache's default).
	CacheTTL, CacheMissTTL time.Duration

	// Limit selects the failed-login limiter: "" or "off" for none,
	// "memory" for this process's own ([limit.Memory]) with LimitConfig.
	// Limiter, if not nil, is used instead (a shared one, such as
	// limit/redis); it is not a flag.
	Limit       string
	LimitConfig limit.Config
	Limiter     limit.Limiter
}

// DefaultConfig returns the configuration the servers start with, listening
// for plain connections on listen.
func DefaultConfig(listen string) Config {
	return Config{Listen: listen, AuthTimeout: DefaultAuthTimeout, MaxConns: DefaultMaxConns}
}

// AddFlags defines the servers' flags on fs, each defaulting to c's current
// value and setting it when parsed.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "`address` for plain connections, with STARTTLS (empty: none)")
	fs.StringVar(&c.ListenTLS, "listen-tls", c.ListenTLS, "`address` for implicit TLS (empty: none)")
	fs.StringVar(&c.CertFile, "cert", c.CertFile, "server certificate chain in PEM `file` (default: self-signed for localhost)")
	fs.StringVar(&c.KeyFile, "key", c.KeyFile, "server private key in PEM `file`")
	fs.StringVar(&c.ClientCAFile, "client-ca", c.ClientCAFile, "CA certificates in PEM `file` to verify client certificates against; enables EXTERNAL")
	fs.StringVar(&c.UsersFile, "users", c.UsersFile, "Dovecot passwd-`file` of name:{SCHEME}data lines (default: user/pencil)")
	fs.StringVar(&c.TokensFile, "tokens", c.TokensFile, "`file` of name:token lines for XOAUTH2 and OAUTHBEARER")
	fs.StringVar(&c.Mechs, "mechs", c.Mechs, "comma-separated mechanism `list`, in preference order (default: "+strings.Join(DefaultMechanisms, ",")+", plus EXTERNAL, OAUTHBEARER and XOAUTH2 when usable)")
	fs.BoolVar(&c.InsecureAuth, "insecure-auth", c.InsecureAuth, "offer PLAIN, LOGIN, OAUTHBEARER, XOAUTH2 and the IMAP LOGIN command without TLS")
	fs.BoolVar(&c.NoSASLIR, "no-sasl-ir", c.NoSASLIR, "IMAP: do not advertise SASL-IR (initial responses are still accepted)")
	fs.DurationVar(&c.AuthTimeout, "auth-timeout", c.AuthTimeout, "drop a client that sends no line for this `duration`")
	fs.DurationVar(&c.FailDelay, "fail-delay", c.FailDelay, "wait this `duration` before answering a failed authentication, on that connection only")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "most `connections` served at once")
	fs.StringVar(&c.SecretFile, "secret-file", c.SecretFile, "`file` holding the server secret for stable mock SCRAM salts; created with 32 random octets if missing (default: a new secret at each start)")
	fs.IntVar(&c.MaxVerify, "max-verify", c.MaxVerify, "most password `checks` run at once (0: GOMAXPROCS)")
	fs.StringVar(&c.Upgrade, "upgrade", c.Upgrade, "comma-separated SCRAM `hashes` (SHA-256) whose keys a verified password adds to an account that lacks them, when the store can save them")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", c.CacheTTL, "keep looked-up accounts this `duration` in a cache in front of the store (0: no cache)")
	fs.DurationVar(&c.CacheMissTTL, "cache-miss-ttl", c.CacheMissTTL, "keep unknown names this `duration` in the cache (0: the cache's default, 10s)")
	fs.StringVar(&c.Limit, "limit", c.Limit, "failed-login `limiter`: off, or memory (per address prefix and account; see the -limit-* flags)")
	fs.DurationVar(&c.LimitConfig.Base, "limit-base", c.LimitConfig.Base, "delay `duration` owed after one recent failure, doubled by each further one (0: 2s)")
	fs.DurationVar(&c.LimitConfig.MaxDelay, "limit-max-delay", c.LimitConfig.MaxDelay, "most `duration` a client is delayed (0: 15s)")
	fs.IntVar(&c.LimitConfig.Burst, "limit-burst", c.LimitConfig.Burst, "recent `failures` of an account after which its attempts are refused (0: 10)")
	fs.IntVar(&c.LimitConfig.BurstAddr, "limit-burst-addr", c.LimitConfig.BurstAddr, "recent `failures` from an address prefix (IPv4 /32, IPv6 /64) after which its attempts are refused (0: 50)")
	fs.DurationVar(&c.LimitConfig.Window, "limit-window", c.LimitConfig.Window, "`duration` in which a burst of failures is forgotten (0: 15m)")
}

func (c *Config) authTimeout() time.Duration {
	if c.AuthTimeout <= 0 {
		return DefaultAuthTimeout
	}
	return c.AuthTimeout
}

func (c *Config) maxConns() int {
	if c.MaxConns <= 0 {
		return DefaultMaxConns
	}
	return c.MaxConns
}

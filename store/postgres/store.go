package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
)

// Defaults of [Config].
const (
	// DefaultSchema is the PostgreSQL schema the store's tables are in.
	DefaultSchema = "saslkit"
	// DefaultQueryTimeout bounds each query.
	DefaultQueryTimeout = 2 * time.Second
	// DefaultProfileRefresh is how often the profile is read again.
	DefaultProfileRefresh = time.Minute
)

// Config configures a [Store]. A nil *Config means the zero Config. A
// Config must not be modified while [Open], [New] or [Migrate] use it; the
// Store keeps a copy.
type Config struct {
	// Schema is the PostgreSQL schema that holds the tables. Empty means
	// [DefaultSchema]. One database may hold several stores, each in its
	// own schema.
	Schema string
	// QueryTimeout bounds every query the store makes (a lookup, each
	// query of a write or of a profile refresh): a ctx without an earlier
	// deadline gets this one. Zero means [DefaultQueryTimeout]. A query
	// that runs past it fails with an [*Error] wrapping
	// context.DeadlineExceeded, and pgx closes its connection, which the
	// pool replaces.
	QueryTimeout time.Duration
	// ProfileRefresh is how often a background goroutine reads the
	// store's [creds.Profile] again, to follow changes made to the tables
	// other than through this Store (SQL, another node). Zero means
	// [DefaultProfileRefresh]; negative, never (writes through the Store
	// and [Store.RefreshProfile] still refresh it).
	ProfileRefresh time.Duration
	// Migrate, if set, has Open and New apply [Migrate] before they read
	// the schema. Otherwise a schema that is not at this package's
	// version is an error.
	Migrate bool
}

func (c *Config) schema() string {
	if c == nil || c.Schema == "" {
		return DefaultSchema
	}
	return c.Schema
}

// Store is a [creds.Store] of accounts kept in PostgreSQL, through a pgx
// connection pool. It also implements [creds.AccountWriter] and
// [creds.SCRAMUpgrader]. Its methods are safe for concurrent use.
//
// Lookup returns a *[creds.Account], which must not be modified. Every
// lookup reads the database: there is no cache of accounts, so a change
// made by another node or by SQL takes effect at the next login.
type Store struct {
	pool    *pgxpool.Pool
	owned   bool // Close closes pool
	timeout time.Duration
	schema  string
	q       queries

	profile atomic.Pointer[creds.Profile]
	// writes counts the writes made through the store; covered is the
	// count the profile reflects. A refresh reads the count before it
	// reads the tables, so it covers every write counted by then.
	writes   atomic.Uint64
	covered  atomic.Uint64
	refresh  chan struct{} // a one-slot lock that serialises refreshes
	kick     chan struct{} // asks the background goroutine for a refresh
	stop     chan struct{} // closed by Close
	done     chan struct{} // closed when the background goroutine ends
	stopOnce sync.Once
}

// queries are the store's SQL statements, with the schema's name in them.
// pgx prepares each once per connection and caches it.
type queries struct {
	lookup, byID, version, classes, shapes                   string
	upsert, owner, deleteKeys, insertKey, remove, lockByName string
	addKey                                                   string
}

func newQueries(schema string) queries {
	s := pgx.Identifier{schema}.Sanitize()
	r := strings.NewReplacer("S.", s+".")
	const cols = `SELECT a.id, a.name, a.lookup_name, a.no_prep, a.password,
	k.hash, k.salt, k.iterations, k.stored_key, k.server_key
FROM S.accounts a LEFT JOIN S.scram_keys k ON k.account_id = a.id`
	return queries{
		// A no_prep account matches its name byte for byte, any other
		// its prepared name; $2 is NULL for a name that does not
		// prepare. Two rows cannot match (lookup_name is UNIQUE), but a
		// no_prep match comes first, as in creds.MemoryStore.
		lookup: r.Replace(cols + `
WHERE a.id IN (SELECT id FROM S.accounts WHERE name = $1 AND no_prep
	UNION ALL SELECT id FROM S.accounts WHERE lookup_name = $2 AND NOT no_prep)
ORDER BY a.no_prep DESC, a.id, k.seq, k.hash`),
		byID:    r.Replace(cols + ` WHERE a.id = $1 ORDER BY k.seq, k.hash`),
		version: r.Replace(`SELECT coalesce(max(version), 0) FROM S.schema_version`),
		// The cost class of each account: its password's, or for an
		// account without one its first SCRAM keys', as
		// creds.MemoryStore counts them.
		// The cost class of each account: its password's, or for an
		// account without one its first SCRAM keys', as
		// creds.MemoryStore counts them. Accounts with a password, the
		// usual case, are counted from the index on password_class.
		classes: r.Replace(`SELECT password_class, count(*), min(id) FROM S.accounts
WHERE password_class IS NOT NULL GROUP BY 1
UNION ALL
SELECT class, count(*), min(id) FROM (
	SELECT a.id, coalesce(
		(SELECT 'scram:' || k.hash || ':' || k.iterations FROM S.scram_keys k
		 WHERE k.account_id = a.id ORDER BY k.seq, k.hash LIMIT 1),
		'none') AS class
	FROM S.accounts a WHERE a.password_class IS NULL) c
GROUP BY 1`),
		shapes: r.Replace(`SELECT hash, octet_length(salt), iterations, count(*) FROM S.scram_keys GROUP BY 1, 2, 3`),
		upsert: r.Replace(`INSERT INTO S.accounts AS a (name, lookup_name, no_prep, password) VALUES ($1, $2, $3, $4)
ON CONFLICT (lookup_name) DO UPDATE
	SET no_prep = EXCLUDED.no_prep, password = EXCLUDED.password, updated_at = now()
	WHERE a.name = EXCLUDED.name
RETURNING a.id`),
		owner:      r.Replace(`SELECT name FROM S.accounts WHERE lookup_name = $1`),
		deleteKeys: r.Replace(`DELETE FROM S.scram_keys WHERE account_id = $1`),
		insertKey: r.Replace(`INSERT INTO S.scram_keys (account_id, hash, seq, salt, iterations, stored_key, server_key)
VALUES ($1, $2, $3, $4, $5, $6, $7)`),
		remove: r.Replace(`DELETE FROM S.accounts WHERE id IN (
	SELECT id FROM (SELECT id, no_prep FROM S.accounts WHERE name = $1 AND no_prep
		UNION ALL SELECT id, no_prep FROM S.accounts WHERE lookup_name = $2 AND NOT no_prep) m
	ORDER BY no_prep DESC LIMIT 1)
RETURNING name`),
		lockByName: r.Replace(`SELECT id FROM S.accounts WHERE name = $1 FOR UPDATE`),
		addKey: r.Replace(`INSERT INTO S.scram_keys (account_id, hash, seq, salt, iterations, stored_key, server_key)
VALUES ($1, $2, (SELECT coalesce(max(seq) + 1, 0) FROM S.scram_keys WHERE account_id = $1), $3, $4, $5, $6)
ON CONFLICT (account_id, hash) DO NOTHING`),
	}
}

// errBadDSN is Open's error for a connection string that does not parse.
var errBadDSN = errors.New("saslkit/store/postgres: malformed connection string (not shown: it may hold a password)")

// Open opens a pgxpool pool on dsn (a PostgreSQL connection string or URL,
// with pgxpool's pool_* parameters if wanted) and returns the [Store] on
// it, as [New] does; [Store.Close] closes the pool. It fails if the
// database cannot be reached, so that a server does not start with a
// profile that is not its accounts'. A dsn that does not parse is an
// error that does not quote it.
func Open(ctx context.Context, dsn string, cfg *Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's error quotes the string, which may hold a password.
		return nil, errBadDSN
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	s, err := newStore(ctx, pool, cfg, true)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New returns the [Store] on pool, whose tables are in cfg's schema: it
// checks the schema's version (applying [Migrate] first if cfg.Migrate is
// set), reads the profile, and starts the goroutine that refreshes it. It
// returns an [*Error] if the database fails, and one wrapping
// [creds.ErrMisconfigured] if the schema is missing or older than this
// package. Close the Store when done; the pool stays the caller's.
func New(ctx context.Context, pool *pgxpool.Pool, cfg *Config) (*Store, error) {
	return newStore(ctx, pool, cfg, false)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, cfg *Config, owned bool) (*Store, error) {
	s := &Store{
		pool:    pool,
		owned:   owned,
		timeout: DefaultQueryTimeout,
		schema:  cfg.schema(),
		refresh: make(chan struct{}, 1),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	every := DefaultProfileRefresh
	if cfg != nil {
		if cfg.QueryTimeout > 0 {
			s.timeout = cfg.QueryTimeout
		}
		if cfg.ProfileRefresh != 0 {
			every = cfg.ProfileRefresh
		}
		if cfg.Migrate {
			if err := Migrate(ctx, pool, cfg); err != nil {
				return nil, err
			}
		}
	}
	s.q = newQueries(s.schema)
	if err := s.checkVersion(ctx); err != nil {
		return nil, err
	}
	if err := s.RefreshProfile(ctx); err != nil {
		return nil, err
	}
	go s.refresher(every)
	return s, nil
}

// checkVersion refuses a schema older than the package's migrations.
func (s *Store) checkVersion(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var v int
	err := s.pool.QueryRow(ctx, s.q.version).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") {
		// undefined_table, invalid_schema_name: never migrated.
		v, err = 0, nil
	}
	if err != nil {
		return &Error{Op: "open", Err: err}
	}
	if want := latestVersion(); v < want {
		return fmt.Errorf("%w: saslkit/store/postgres: schema %q is at version %d, this package needs %d: run Migrate", creds.ErrMisconfigured, s.schema, v, want)
	}
	return nil
}

// Close stops the profile refresh and, for a Store made by [Open], closes
// its pool. It waits for a refresh under way. The Store must not be used
// afterwards.
func (s *Store) Close() {
	s.stopOnce.Do(func() {
		close(s.stop)
		<-s.done
		if s.owned {
			s.pool.Close()
		}
	})
}

// Pool returns the pool the Store uses.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Lookup implements [creds.Store]: it returns the *[creds.Account] that
// name names (a no_prep account by its exact name, any other by its name
// after SASLprep), an error wrapping [creds.ErrUnknownUser] if there is
// none (a name that fails SASLprep, or that PostgreSQL text cannot hold,
// is no account's), and an [*Error] if the database fails, never
// [creds.ErrUnknownUser] then. It makes one query, bounded by
// Config.QueryTimeout.
func (s *Store) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	if len(name) > creds.MaxInput || !storable(name) {
		return nil, creds.ErrUnknownUser
	}
	var prepared any // NULL: matches no lookup_name
	if p, err := prep.Query(name); err == nil {
		prepared = p
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	a, err := s.load(ctx, s.q.lookup, name, prepared)
	if err != nil {
		return nil, dbError("lookup", err)
	}
	return a, nil
}

// load runs query, one of the account queries, and returns the first
// account it yields with its SCRAM keys, or [creds.ErrUnknownUser].
func (s *Store) load(ctx context.Context, query string, args ...any) (*creds.Account, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		a                    *creds.Account
		first, id            int64
		name, lookup, pw     string
		noPrep               bool
		hash                 pgtype.Text
		iter                 pgtype.Int4
		salt, stored, server []byte
	)
	for rows.Next() {
		if a == nil {
			err = rows.Scan(&first, &name, &lookup, &noPrep, &pw, &hash, &salt, &iter, &stored, &server)
			if err != nil {
				return nil, err
			}
			if lookupName(name, noPrep) != lookup {
				return nil, fmt.Errorf("%w: account %q", ErrCorrupt, name)
			}
			a = &creds.Account{Name: name, Password: pw, NoPrep: noPrep}
		} else {
			if err = rows.Scan(&id, nil, nil, nil, nil, &hash, &salt, &iter, &stored, &server); err != nil {
				return nil, err
			}
			if id != first {
				// Another account: impossible with lookup_name UNIQUE.
				break
			}
		}
		if hash.Valid {
			a.SCRAM = append(a.SCRAM, creds.SCRAMKeys{
				Hash: hash.String, Salt: salt, Iterations: int(iter.Int32),
				StoredKey: stored, ServerKey: server,
			})
			salt, stored, server = nil, nil, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, creds.ErrUnknownUser
	}
	return a, nil
}

// lookupName is the lookup_name of an account: its name prepared with
// SASLprep, or, for a no_prep account whose name does not prepare, its
// name. "" for an account that cannot be stored.
func lookupName(name string, noPrep bool) string {
	if p, err := prep.Query(name); err == nil {
		return p
	}
	if noPrep {
		return name
	}
	return ""
}

// storable reports whether PostgreSQL text can hold s: valid UTF-8
// without NUL. No account's name is anything else.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// Profile implements [creds.Store]. It returns the profile read last:
// when the Store was made, after each write through it, by
// [Store.RefreshProfile], and every Config.ProfileRefresh. A refresh that
// fails (the database is down) keeps the profile it had. Its SCRAM slice
// is shared with later calls; do not modify it.
func (s *Store) Profile() creds.Profile { return *s.profile.Load() }

// RefreshProfile reads the store's profile now, from every account in the
// tables, and returns an [*Error] if the database fails, keeping the
// profile it had. Call it after changing the tables other than through
// the Store, if the next periodic refresh is too late.
func (s *Store) RefreshProfile(ctx context.Context) error {
	return s.refreshCovering(ctx, 0, true)
}

// refreshCovering reads the profile again unless one read since the
// write numbered want has been (force reads it in any case).
func (s *Store) refreshCovering(ctx context.Context, want uint64, force bool) error {
	select {
	case s.refresh <- struct{}{}:
	case <-ctx.Done():
		return &Error{Op: "refresh profile", Err: ctx.Err()}
	}
	defer func() { <-s.refresh }()
	if !force && s.covered.Load() >= want {
		return nil
	}
	start := s.writes.Load()
	p, err := s.readProfile(ctx)
	if err != nil {
		return &Error{Op: "refresh profile", Err: err}
	}
	s.profile.Store(p)
	s.covered.Store(start)
	return nil
}

// wrote counts a write through the store and returns its number.
func (s *Store) wrote() uint64 { return s.writes.Add(1) }

// kickRefresh asks the background goroutine for a refresh, without
// waiting for it.
func (s *Store) kickRefresh() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// refresher refreshes the profile every period (never if period < 0),
// and when kicked, until Close.
func (s *Store) refresher(period time.Duration) {
	defer close(s.done)
	var tick <-chan time.Time
	if period > 0 {
		t := time.NewTicker(period)
		defer t.Stop()
		tick = t.C
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		select {
		case <-s.stop:
			return
		case <-tick:
			_ = s.RefreshProfile(ctx)
		case <-s.kick:
			_ = s.refreshCovering(ctx, s.writes.Load(), false)
		}
	}
}

// scramHashes are the SCRAM hashes in the order Profile lists them.
var scramHashes = []string{"SHA-1", "SHA-256", "SHA-512", "SHA3-512"}

// readProfile computes the profile from the tables, as creds.MemoryStore
// does from its accounts: the decoy is an account of the most common
// hashed cost class (the earliest made among ties), and each hash's shape
// is its most common salt length and iteration count (the cheaper among
// ties).
func (s *Store) readProfile(ctx context.Context) (*creds.Profile, error) {
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(s.q.classes)
	b.Queue(s.q.shapes)
	br := s.pool.SendBatch(qctx, b)
	defer br.Close()

	p := &creds.Profile{}
	var (
		decoyID, bestN, bestID int64
		class                  string
		n, id                  int64
	)
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&class, &n, &id}, func() error {
		switch {
		case class == "clear":
			p.ClearSecrets = true
		case class == "clear:empty" || class == "none":
		case n > bestN || n == bestN && id < bestID:
			decoyID, bestN, bestID = id, n, id
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	type shape struct{ salt, iter, n int }
	best := map[string]shape{}
	var (
		hash          string
		salt, iter, c int
	)
	rows, err = br.Query()
	if err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&hash, &salt, &iter, &c}, func() error {
		b, ok := best[hash]
		if !ok || c > b.n || c == b.n && (iter < b.iter || iter == b.iter && salt < b.salt) {
			best[hash] = shape{salt, iter, c}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	for _, h := range scramHashes {
		if b, ok := best[h]; ok {
			p.SCRAM = append(p.SCRAM, creds.SCRAMShape{Hash: h, SaltLen: b.salt, Iterations: b.iter})
		}
	}
	if decoyID != 0 {
		dctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		a, err := s.load(dctx, s.q.byID, decoyID)
		if errors.Is(err, creds.ErrUnknownUser) {
			// Deleted since: keep the profile we had; the next refresh
			// tries again.
			err = errors.New("the decoy account was deleted during the refresh")
		}
		if err != nil {
			return nil, err
		}
		p.PasswordDecoy = a
	}
	return p, nil
}

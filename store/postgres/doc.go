// Package postgres is a [creds.Store] of SASL (RFC 4422) accounts kept in
// PostgreSQL, through a pgx connection pool ([pgxpool.Pool]). It also
// implements [creds.AccountWriter] and [creds.SCRAMUpgrader], so that
// accounts can be managed through it and a [creds.Verifier] with Upgrade
// set gives password accounts SCRAM keys (RFC 5802) as users log in.
//
// A server opens the store once, from a connection string, and builds its
// one Verifier on it:
//
//	store, err := postgres.Open(ctx, "postgres://saslkit@db/accounts", &postgres.Config{Migrate: true})
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	verifier := &creds.Verifier{Store: store, Secret: secret}
//
// [New] does the same on a pool the application already has, and
// [Migrate] applies the schema on its own, for deployments that migrate
// separately from starting servers.
//
// # Schema
//
// The tables are in one PostgreSQL schema ([Config].Schema, default
// "saslkit"), made by [Migrate] from SQL files embedded in the package
// (migrations/*.sql), each applied once and recorded in schema_version.
// One database can hold several stores in several schemas.
//
// accounts has one row per account:
//
//	id              bigint identity, the primary key
//	name            text, UNIQUE: the canonical name (creds.Account.Name),
//	                what the application is given at login
//	lookup_name     text, UNIQUE: name after SASLprep (RFC 4013, as a query);
//	                for a no_prep account whose name does not prepare, name
//	no_prep         boolean: match the name, and compare the password, byte
//	                for byte (creds.Account.NoPrep)
//	password        text: creds.Account.Password, a package creds/hash
//	                encoding ("$argon2id$…", "$2a$…", "$pbkdf2-sha256$…",
//	                "$scrypt$…", "{PLAIN}…"), or '' for none
//	password_class  text, generated: the password's cost class, for Profile
//	updated_at      timestamptz
//
// scram_keys has at most one row per account and SCRAM hash, deleted with
// its account:
//
//	account_id      bigint, references accounts(id)
//	hash            'SHA-1', 'SHA-256', 'SHA-512' or 'SHA3-512'
//	seq             integer: the keys' order in creds.Account.SCRAM (PLAIN
//	                checks an account without a password against the first)
//	salt            bytea, 1 to 256 octets
//	iterations      integer, 4096 to 10,000,000
//	stored_key      bytea, the hash's size
//	server_key      bytea, the hash's size
//
// Writes through the Store validate an account with
// [creds.Account.Validate], as [creds.MemoryStore.Add] does, and refuse a
// name or password PostgreSQL text cannot hold (NUL, invalid UTF-8). Rows written by SQL are held to the constraints, which
// cover the SCRAM keys' shapes and names' lengths but not SASLprep: a row
// whose lookup_name is not what SASLprep makes of its name is refused at
// lookup with an [*Error] wrapping [ErrCorrupt], never matched; a password
// in no known encoding never verifies. Names and passwords compare in the
// "C" collation, byte for byte.
//
// # PostgreSQL's own verifiers
//
// A SCRAM-SHA-256 verifier from pg_authid.rolpassword,
// "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" (the form of RFC
// 5803), works as it is: PostgreSQL derives it from the SASLprep'd
// password as saslkit does. The SQL function import_scram(account,
// verifier) gives an existing account its keys, replacing those it has for
// the hash, with no application code in between:
//
//	SELECT saslkit.import_scram('alice', rolpassword)
//	FROM pg_authid WHERE rolname = 'alice';
//
// From Go, [creds.ParseSCRAMKeys] reads the same text into keys for
// [Store.SetAccount].
//
// # Profile
//
// The decoys of unknown users take the shape of the store's accounts
// ([creds.Profile]): the password decoy is an account of the most common
// cost class, and each hash's SCRAM shape is its most common salt length
// and iteration count, counted as creds.MemoryStore counts them. Counting
// reads every row (one aggregate, about 50 ms per 200,000 accounts), too
// slow for each login, so the Store reads it when it is made, again before
// [Store.SetAccount] and [Store.DeleteAccount] return (writes at once
// share one read), in the background after [Store.UpgradeSCRAM], every
// [Config].ProfileRefresh (default a minute) to follow changes made by SQL
// or by other nodes, and when [Store.RefreshProfile] is called. A read
// that fails, because the database is down, keeps the profile the Store
// had: Profile never fails.
//
// # Failures
//
// Every query is bounded by [Config].QueryTimeout (default 2 s), or by
// ctx's deadline if that is earlier. A failure of the database (down,
// timed out, a broken connection, a corrupt row) is an [*Error], a
// temporary failure: never [creds.ErrUnknownUser] or
// [creds.ErrBadCredentials], so that a [creds.Verifier] passes it on
// instead of failing the login as a wrong password, and outcome.Of sorts
// it as Temporary. A connection broken by a timeout or a restart is
// replaced by the pool; lookups work again once the database is back.
//
// Lookups use pgx's default statement cache: each query is prepared once
// per connection. Behind a pooler in transaction mode (PgBouncer) set
// default_query_exec_mode=exec (or simple_protocol) in the connection
// string, or the pool's configuration.
package postgres

import "github.com/saslkit/saslkit/creds"

var (
	_ creds.Store         = (*Store)(nil)
	_ creds.AccountWriter = (*Store)(nil)
	_ creds.SCRAMUpgrader = (*Store)(nil)
)

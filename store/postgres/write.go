package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
)

// maxLookupName is the longest lookup_name, in octets: SASLprep's NFKC may
// make a name of creds.MaxInput octets longer, and a btree index entry
// must fit in a third of a page.
const maxLookupName = 2048

// SetAccount implements [creds.AccountWriter]: in one transaction, it
// stores a, replacing the account of the same canonical name (its
// password, no_prep flag and every SCRAM key) if there is one. It returns
// an error wrapping [creds.ErrMisconfigured] if a is malformed (as
// creds.Account.Validate finds it, or holding a string PostgreSQL text
// cannot: invalid UTF-8, NUL) or if a's name is another account's after
// SASLprep; an [*Error] if the database fails. The transaction is bounded
// by Config.QueryTimeout. Before it returns, the profile is read again
// (a failure there does not undo the write, and is retried by the next
// refresh).
func (s *Store) SetAccount(ctx context.Context, a creds.Account) error {
	lookup, err := checkAccount(a)
	if err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err = pgx.BeginFunc(tctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(tctx, s.q.upsert, a.Name, lookup, a.NoPrep, a.Password).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// The prepared name is another account's: the upsert's
			// WHERE refused to replace it.
			var other string
			if err := tx.QueryRow(tctx, s.q.owner, lookup).Scan(&other); err != nil {
				return err
			}
			return fmt.Errorf("%w: account %q collides with account %q: both are %q after SASLprep", creds.ErrMisconfigured, a.Name, other, lookup)
		}
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(s.q.deleteKeys, id)
		for i, k := range a.SCRAM {
			b.Queue(s.q.insertKey, id, k.Hash, i, k.Salt, k.Iterations, k.StoredKey, k.ServerKey)
		}
		return tx.SendBatch(tctx, b).Close()
	})
	if err != nil {
		return dbError("set account", err)
	}
	s.refreshAfterWrite(ctx)
	return nil
}

// DeleteAccount implements [creds.AccountWriter]: it removes, in one
// statement, the account name names as [Store.Lookup] finds it, and its
// SCRAM keys. It returns an error wrapping [creds.ErrUnknownUser] if there
// is none, and an [*Error] if the database fails. The profile is read
// again before it returns, as after [Store.SetAccount].
func (s *Store) DeleteAccount(ctx context.Context, name string) error {
	if len(name) > creds.MaxInput || !storable(name) {
		return creds.ErrUnknownUser
	}
	var prepared any
	if p, err := prep.Query(name); err == nil {
		prepared = p
	}
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var gone string
	err := s.pool.QueryRow(tctx, s.q.remove, name, prepared).Scan(&gone)
	if errors.Is(err, pgx.ErrNoRows) {
		return creds.ErrUnknownUser
	}
	if err != nil {
		return dbError("delete account", err)
	}
	s.refreshAfterWrite(ctx)
	return nil
}

// UpgradeSCRAM implements [creds.SCRAMUpgrader]. In one transaction it
// locks the row of the account whose canonical name is account (SELECT
// ... FOR UPDATE) and inserts the keys for the hashes it has none for:
// of two concurrent upgrades, the first to commit gives the account its
// keys and the second adds nothing for those hashes. An account gone in
// the meantime is not an error. It returns an error wrapping
// [creds.ErrMisconfigured] for malformed keys and an [*Error] if the
// database fails; the transaction is bounded by Config.QueryTimeout. An
// upgrade runs on a login's path, so the profile is refreshed in the
// background, not before it returns, unless the keys are of a hash the
// profile has no shape for: then it is read again first, so that a SCRAM
// mechanism for that hash can be built as soon as UpgradeSCRAM returns.
func (s *Store) UpgradeSCRAM(ctx context.Context, account string, keys []creds.SCRAMKeys) error {
	if len(keys) == 0 || account == "" || len(account) > creds.MaxInput || !storable(account) {
		return nil // no such account can be stored
	}
	if err := (&creds.Account{Name: account, NoPrep: true, SCRAM: keys}).Validate(); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := pgx.BeginFunc(tctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(tctx, s.q.lockByName, account).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, k := range keys {
			b.Queue(s.q.addKey, id, k.Hash, k.Salt, k.Iterations, k.StoredKey, k.ServerKey)
		}
		return tx.SendBatch(tctx, b).Close()
	})
	if err != nil {
		return dbError("upgrade", err)
	}
	n := s.wrote()
	if s.newHash(keys) {
		_ = s.refreshCovering(ctx, n, false)
	} else {
		s.kickRefresh()
	}
	return nil
}

// newHash reports whether the profile has no shape for one of keys'
// hashes: the store may have gained the first keys of a hash, which a
// SCRAM mechanism built from now on needs to see.
func (s *Store) newHash(keys []creds.SCRAMKeys) bool {
	p := s.Profile()
	for _, k := range keys {
		if !slices.ContainsFunc(p.SCRAM, func(sh creds.SCRAMShape) bool { return sh.Hash == k.Hash }) {
			return true
		}
	}
	return false
}

// refreshAfterWrite reads the profile again after a write, unless a
// refresh that began after the write did.
func (s *Store) refreshAfterWrite(ctx context.Context) {
	_ = s.refreshCovering(ctx, s.wrote(), false)
}

// checkAccount validates a (creds.Account.Validate), and for PostgreSQL,
// and returns its lookup_name.
func checkAccount(a creds.Account) (string, error) {
	if err := a.Validate(); err != nil {
		return "", err
	}
	if !storable(a.Name) || !storable(a.Password) {
		return "", fmt.Errorf("%w: account %q: its name or password is not UTF-8 without NUL, which PostgreSQL text cannot hold", creds.ErrMisconfigured, a.Name)
	}
	lookup := lookupName(a.Name, a.NoPrep)
	if lookup == "" || len(lookup) > maxLookupName {
		return "", fmt.Errorf("%w: account %q: its name is longer than %d octets after SASLprep", creds.ErrMisconfigured, a.Name, maxLookupName)
	}
	return lookup, nil
}

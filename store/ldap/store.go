package ldapstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
)

// The attributes the store reads.
const (
	attrUserPassword = "userPassword"
	attrAuthPassword = "authPassword"
)

// Store is a [creds.Store] of the accounts of an LDAP directory. It is
// safe for concurrent use. It is read-only: it implements neither
// [creds.AccountWriter] nor [creds.SCRAMUpgrader].
type Store struct {
	cfg    Config
	search *pool // bound as the service account
	binds  *pool // BindVerify's user binds; nil without BindVerify

	decoy   checker // Config.Decoy, parsed; nil if unset
	decoyDN string  // the DN of BindVerify's decoy binds
	decoyPW string  // their random password

	profile atomic.Pointer[creds.Profile]
}

// Open checks cfg, connects to the directory and samples its accounts
// (Config.Sample entries the filter matches) to learn the Profile: the
// cost of their passwords, for the decoy of unknown users, and the shape
// of their SCRAM keys. It fails, with an *[Error], if the directory
// cannot be searched, since a store that cannot tell what its accounts
// cost cannot hide which users exist; and with an error wrapping
// [creds.ErrMisconfigured] for a bad configuration, or a service account
// that can read no password of the entries it samples while BindVerify is
// not set.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg}
	if cfg.Decoy != "" {
		c, err := parseValue(cfg.Decoy)
		if err != nil {
			return nil, fmt.Errorf("%w: ldapstore: Decoy: %v", creds.ErrMisconfigured, err)
		}
		s.decoy = c
	}
	tc := s.cfg.tlsConfig()
	s.search = newPool(&s.cfg, tc, true)
	if cfg.BindVerify {
		s.binds = newPool(&s.cfg, tc, false)
		var b [16]byte
		rand.Read(b[:])
		s.decoyDN, s.decoyPW = cfg.DecoyDN, hex.EncodeToString(b[:])
	}
	if err := s.Refresh(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if cfg.BindVerify {
		if err := s.checkDecoyDN(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// checkDecoyDN checks that the service account sees Config.DecoyDN.
func (s *Store) checkDecoyDN(ctx context.Context) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	req := ldap.NewSearchRequest(s.cfg.DecoyDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"1.1"}, nil)
	err := s.search.do(ctx, "search DecoyDN", func(c *ldap.Conn) error {
		_, err := c.Search(req)
		return err
	})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return fmt.Errorf("%w: ldapstore: DecoyDN names no entry the service account can see", creds.ErrMisconfigured)
	}
	return err
}

// Close closes the store's connections. Lookups and checks after Close
// fail with an *[Error].
func (s *Store) Close() error {
	s.search.close()
	if s.binds != nil {
		s.binds.close()
	}
	return nil
}

// attributes are the attributes a search asks for.
func (s *Store) attributes() []string {
	if s.cfg.BindVerify {
		return []string{s.cfg.NameAttr, attrAuthPassword}
	}
	return []string{s.cfg.NameAttr, attrUserPassword, attrAuthPassword}
}

// opContext bounds ctx by the configured timeout.
func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.Timeout)
}

// find searches with filter, for at most limit entries.
func (s *Store) find(ctx context.Context, filter string, limit int) ([]*ldap.Entry, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	secs := int((s.cfg.Timeout + time.Second - 1) / time.Second)
	req := ldap.NewSearchRequest(s.cfg.BaseDN, s.cfg.scope(), ldap.NeverDerefAliases, limit, secs, false, filter, s.attributes(), nil)
	var entries []*ldap.Entry
	err := s.search.do(ctx, "search", func(c *ldap.Conn) error {
		res, err := c.Search(req)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			err = nil
		}
		if err != nil {
			return err
		}
		// Continuation references (res.Referrals) are not followed.
		entries = res.Entries
		return nil
	})
	return entries, err
}

// Lookup implements [creds.Store]. It prepares name with SASLprep
// (creds/prep.Query), escapes it into the filter and searches, asking for
// two entries: none is [creds.ErrUnknownUser]; two are [ErrAmbiguous],
// in an *[Error], and no account; one is the account, unless its NameAttr
// does not match the name (see Config.MatchByDirectory). A name longer
// than [creds.MaxInput] octets, empty or refused by SASLprep is unknown
// without a search. Any failure of the directory is an *[Error], never
// ErrUnknownUser, and so is a cancelled ctx.
func (s *Store) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	if len(name) > creds.MaxInput {
		return nil, creds.ErrUnknownUser
	}
	p, err := prep.Query(name)
	if err != nil || p == "" {
		return nil, creds.ErrUnknownUser
	}
	entries, err := s.find(ctx, s.cfg.filterFor(p), 2)
	if err != nil {
		return nil, err
	}
	switch len(entries) {
	case 0:
		return nil, creds.ErrUnknownUser
	case 1:
	default:
		return nil, &Error{Op: "lookup", Err: ErrAmbiguous}
	}
	account, ok := s.accountName(entries[0], p)
	if !ok {
		if s.cfg.MatchByDirectory {
			return nil, &Error{Op: "lookup", Err: fmt.Errorf("the entry does not hold exactly one %s value", s.cfg.NameAttr)}
		}
		return nil, creds.ErrUnknownUser
	}
	return s.identity(entries[0], account), nil
}

// accountName returns the canonical name of e for the prepared name p:
// its NameAttr value that prepares to p, or with MatchByDirectory its
// one NameAttr value.
func (s *Store) accountName(e *ldap.Entry, p string) (string, bool) {
	values := values(e, s.cfg.NameAttr)
	if s.cfg.MatchByDirectory {
		if len(values) != 1 || values[0] == "" {
			return "", false
		}
		return values[0], true
	}
	found, n := "", 0
	for _, v := range values {
		if q, err := prep.Query(v); err == nil && q == p {
			found, n = v, n+1
		}
	}
	return found, n == 1
}

// values returns e's values of the attribute type attr, matched without
// regard to case, and with any attribute options (RFC 4512 section 2.5),
// as a search for attr returns them.
func values(e *ldap.Entry, attr string) []string {
	var out []string
	for _, a := range e.Attributes {
		base, _, _ := strings.Cut(a.Name, ";")
		if strings.EqualFold(base, attr) {
			out = append(out, a.Values...)
		}
	}
	return out
}

// Profile implements [creds.Store]: what the entries sampled by [Open]
// or the last [Store.Refresh] hold. The password decoy is, with
// BindVerify, a bind as Config.DecoyDN; otherwise Config.Decoy, or a
// password of the most common scheme and cost among the sample (SCRAM
// keys count as one for entries with no userPassword), or nil when the
// sample's passwords are all clear. The SCRAM shapes are the most common
// salt length and iteration count of each hash. The SCRAM slice is
// shared with later calls; do not modify it.
func (s *Store) Profile() creds.Profile {
	if p := s.profile.Load(); p != nil {
		return *p
	}
	return creds.Profile{}
}

// Refresh samples the directory's accounts again and updates the
// Profile, for a directory whose accounts have changed scheme or cost
// since Open. On failure the Profile is left as it was.
func (s *Store) Refresh(ctx context.Context) error {
	entries, err := s.find(ctx, s.cfg.prefix+"*"+s.cfg.suffix, s.cfg.Sample)
	if err != nil {
		return err
	}
	var ids []creds.Identity
	for _, e := range entries {
		name := ""
		if v := values(e, s.cfg.NameAttr); len(v) > 0 {
			name = v[0]
		}
		ids = append(ids, s.identity(e, name))
	}
	p, err := s.profileOf(ids)
	if err != nil {
		return err
	}
	s.profile.Store(&p)
	return nil
}

// profileOf computes the Profile of the sampled identities.
func (s *Store) profileOf(ids []creds.Identity) (creds.Profile, error) {
	var p creds.Profile
	type class struct {
		n     int
		decoy creds.PasswordChecker
	}
	classes := map[string]*class{}
	var order []string
	shapes := map[string]map[[2]int]int{}
	readable := 0
	for _, id := range ids {
		a, ok := id.(*account)
		var keys []creds.SCRAMKeys
		if ok {
			keys = a.scram
		} else {
			keys = id.(*bindAccount).scram
		}
		for _, k := range keys {
			m := shapes[k.Hash]
			if m == nil {
				m = map[[2]int]int{}
				shapes[k.Hash] = m
			}
			m[[2]int{len(k.Salt), k.Iterations}]++
		}
		if !ok {
			continue
		}
		var name string
		var decoy creds.PasswordChecker
		switch {
		case len(a.values) > 0:
			name = a.values[0].class()
			decoy = &valueDecoy{c: a.values[0], noPrep: s.cfg.NoPasswordPrep}
		case len(a.scram) > 0:
			name = fmt.Sprintf("scram:%s:%d", a.scram[0].Hash, a.scram[0].Iterations)
			decoy = &scramDecoy{k: a.scram[0], noPrep: s.cfg.NoPasswordPrep}
		default:
			continue
		}
		readable++
		if name == classClear {
			p.ClearSecrets = true
			continue
		}
		if c, ok := classes[name]; ok {
			c.n++
		} else {
			classes[name] = &class{n: 1, decoy: decoy}
			order = append(order, name)
		}
	}
	best := 0
	for _, name := range order {
		if c := classes[name]; c.n > best {
			best, p.PasswordDecoy = c.n, c.decoy
		}
	}
	switch {
	case s.cfg.BindVerify:
		p.PasswordDecoy = &bindDecoy{s: s}
	case s.decoy != nil:
		p.PasswordDecoy = &valueDecoy{c: s.decoy, noPrep: s.cfg.NoPasswordPrep}
		if s.decoy.class() == classClear {
			p.PasswordDecoy = nil
		}
	case len(ids) > 0 && readable == 0:
		return creds.Profile{}, fmt.Errorf("%w: ldapstore: the service account reads neither userPassword nor authPassword of the %d entries sampled: grant it read access, or set BindVerify", creds.ErrMisconfigured, len(ids))
	}
	for _, h := range []string{"SHA-1", "SHA-256", "SHA-512", "SHA3-512"} {
		m, ok := shapes[h]
		if !ok {
			continue
		}
		shape, n := creds.SCRAMShape{Hash: h}, 0
		for k, c := range m {
			if c > n || c == n && (k[1] < shape.Iterations || k[1] == shape.Iterations && k[0] < shape.SaltLen) {
				shape.SaltLen, shape.Iterations, n = k[0], k[1], c
			}
		}
		p.SCRAM = append(p.SCRAM, shape)
	}
	return p, nil
}

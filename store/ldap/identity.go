package ldapstore

import (
	"context"

	"github.com/go-ldap/ldap/v3"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
)

// identity returns the identity of entry e, named name.
func (s *Store) identity(e *ldap.Entry, name string) creds.Identity {
	var keys []creds.SCRAMKeys
	seen := map[string]bool{}
	for _, v := range values(e, attrAuthPassword) {
		k, ok, err := parseAuthPassword(v)
		// Malformed keys, and a second set for one hash, are left out:
		// SCRAM then runs against mock keys and fails, as it must.
		if !ok || err != nil || seen[k.Hash] {
			continue
		}
		seen[k.Hash] = true
		keys = append(keys, k)
	}
	if s.cfg.BindVerify {
		return &bindAccount{s: s, name: name, dn: e.DN, scram: keys}
	}
	a := &account{s: s, name: name, scram: keys}
	for _, v := range values(e, attrUserPassword) {
		c, err := parseValue(v)
		if err != nil {
			if a.bad == nil {
				a.bad = err
			}
			continue
		}
		if cv, ok := c.(clearValue); ok {
			if a.hasClear {
				continue
			}
			a.clear, a.hasClear = s.prepare(string(cv))
			c = clearValue(a.clear)
		}
		a.values = append(a.values, c)
	}
	return a
}

// prepare prepares a password with SASLprep, unless Config.NoPasswordPrep
// is set; ok is false if it fails SASLprep or is empty. The result is the
// password itself when it fails, so that the work done is the same.
func (s *Store) prepare(password string) (string, bool) {
	if s.cfg.NoPasswordPrep {
		return password, password != ""
	}
	p, err := prep.Query(password)
	if err != nil {
		return password, false
	}
	return p, p != ""
}

// account is an entry whose userPassword (or authPassword) the store
// reads: it is a [creds.PasswordChecker], a [creds.SCRAMKeyHolder] and, when
// its password is clear, a [creds.ClearSecretHolder].
type account struct {
	s      *Store
	name   string
	values []checker // the usable userPassword values
	bad    error     // why the first unusable value is so
	scram  []creds.SCRAMKeys

	clear    string // the prepared clear password, if hasClear
	hasClear bool
}

// AccountName implements [creds.Identity]: the entry's NameAttr value.
func (a *account) AccountName() string { return a.name }

// CheckPassword implements [creds.PasswordChecker]. The password is
// prepared with SASLprep (unless Config.NoPasswordPrep) and checked
// against every usable userPassword value, without stopping at a match;
// an entry with none is checked against its first SCRAM keys. It returns
// nil on a match and [creds.ErrBadCredentials] otherwise; or, for an
// entry with no usable userPassword value but an unusable one (a scheme
// this package does not support, or parameters beyond the bounds), an
// *[Error] wrapping the *[SchemeError], after checking the password
// against the decoy so that the failure costs what a check costs.
func (a *account) CheckPassword(password string) error {
	offered, ok := a.s.prepare(password)
	matched := false
	switch {
	case len(a.values) > 0:
		for _, c := range a.values {
			if c.check(offered) {
				matched = true
			}
		}
	case len(a.scram) > 0:
		matched = checkSCRAM(a.scram[0], offered)
	default:
		if d := a.s.Profile().PasswordDecoy; d != nil {
			_ = d.CheckPassword(password)
		}
		if a.bad != nil {
			return &Error{Op: "check password", Err: a.bad}
		}
	}
	if !matched || !ok {
		return creds.ErrBadCredentials
	}
	return nil
}

// ClearSecret implements [creds.ClearSecretHolder] for an entry whose
// userPassword is clear ({CLEARTEXT}, or no scheme), prepared as
// CheckPassword prepares passwords.
func (a *account) ClearSecret() (string, bool) {
	if !a.hasClear || a.clear == "" {
		return "", false
	}
	return a.clear, true
}

// SCRAMKeys implements [creds.SCRAMKeyHolder] from the entry's
// authPassword values (RFC 5803).
func (a *account) SCRAMKeys(hash string) (creds.SCRAMKeys, bool) { return scramKeys(a.scram, hash) }

func scramKeys(keys []creds.SCRAMKeys, hash string) (creds.SCRAMKeys, bool) {
	for _, k := range keys {
		if k.Hash == hash {
			return k, true
		}
	}
	return creds.SCRAMKeys{}, false
}

// bindAccount is an entry of a store with Config.BindVerify: its password
// is checked by binding as it.
type bindAccount struct {
	s     *Store
	name  string
	dn    string
	scram []creds.SCRAMKeys
}

// AccountName implements [creds.Identity].
func (a *bindAccount) AccountName() string { return a.name }

// SCRAMKeys implements [creds.SCRAMKeyHolder], from the authPassword values
// the service account could read.
func (a *bindAccount) SCRAMKeys(hash string) (creds.SCRAMKeys, bool) { return scramKeys(a.scram, hash) }

// CheckPassword implements [creds.PasswordChecker] with a simple bind as
// the entry, with the password prepared as Config.NoPasswordPrep says,
// within Config.Timeout. It returns nil if the directory accepts the
// bind, [creds.ErrBadCredentials] if it answers invalidCredentials (49),
// and an *[Error] for any other failure. An empty password (which would
// make an unauthenticated bind, RFC 4513 section 5.1.2, that succeeds
// for any DN) or one that fails SASLprep is never sent: the decoy binds
// instead, and the result is ErrBadCredentials.
func (a *bindAccount) CheckPassword(password string) error {
	offered, ok := a.s.prepare(password)
	if !ok || a.dn == "" {
		a.s.decoyBind()
		return creds.ErrBadCredentials
	}
	return a.s.bind(a.dn, offered)
}

// bind binds as dn with password on a connection of the bind pool.
func (s *Store) bind(dn, password string) error {
	ctx, cancel := s.opContext(context.Background())
	defer cancel()
	err := s.binds.do(ctx, "bind", func(c *ldap.Conn) error { return c.Bind(dn, password) })
	switch {
	case err == nil:
		return nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return creds.ErrBadCredentials
	}
	return err
}

// decoyBind binds as the decoy DN with the decoy's random password, and
// ignores the result.
func (s *Store) decoyBind() { _ = s.bind(s.decoyDN, s.decoyPW) }

// bindDecoy is the password decoy of a store with BindVerify: a bind
// round trip, as Config.DecoyDN with a random password.
type bindDecoy struct{ s *Store }

// CheckPassword binds as the decoy and returns [creds.ErrBadCredentials].
func (d *bindDecoy) CheckPassword(password string) error {
	d.s.prepare(password)
	d.s.decoyBind()
	return creds.ErrBadCredentials
}

// valueDecoy is a password decoy that checks against a userPassword value.
type valueDecoy struct {
	c      checker
	noPrep bool
}

// CheckPassword checks password against the value, as an account does,
// and returns [creds.ErrBadCredentials] whatever the outcome.
func (d *valueDecoy) CheckPassword(password string) error {
	if !d.noPrep {
		if p, err := prep.Query(password); err == nil {
			password = p
		}
	}
	d.c.check(password)
	return creds.ErrBadCredentials
}

// scramDecoy is a password decoy that checks against SCRAM keys.
type scramDecoy struct {
	k      creds.SCRAMKeys
	noPrep bool
}

// CheckPassword derives the keys from password, as an account without a
// userPassword does, and returns [creds.ErrBadCredentials].
func (d *scramDecoy) CheckPassword(password string) error {
	if !d.noPrep {
		if p, err := prep.Query(password); err == nil {
			password = p
		}
	}
	checkSCRAM(d.k, password)
	return creds.ErrBadCredentials
}

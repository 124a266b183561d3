package ldapstore

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/saslkit/saslkit/creds"
)

// Scope is the part of the tree under Config.BaseDN that a search covers
// (RFC 4511 section 4.5.1.2).
type Scope int

const (
	// ScopeSubtree covers the base entry and every entry below it.
	ScopeSubtree Scope = iota
	// ScopeOneLevel covers the entries immediately below the base entry.
	ScopeOneLevel
	// ScopeBase covers the base entry alone.
	ScopeBase
)

// Defaults of the Config fields left zero.
const (
	DefaultNameAttr = "uid"
	DefaultTimeout  = 10 * time.Second
	DefaultPoolSize = 4
	DefaultSample   = 32
)

// Config configures a [Store]. After one has been passed to [Open] it must
// not be modified.
type Config struct {
	// URL is the directory's address, "ldap://host[:port]" (port 389 by
	// default) or "ldaps://host[:port]" (636). Nothing may follow the
	// host and port but a "/".
	URL string
	// StartTLS upgrades an ldap:// connection with the StartTLS extended
	// operation (RFC 4511 section 4.14) before anything else is sent. It
	// cannot be combined with ldaps://.
	StartTLS bool
	// TLS configures TLS for ldaps:// and StartTLS. It is cloned; an empty
	// ServerName becomes the URL's host. Nil means the system's roots and
	// the URL's host.
	TLS *tls.Config
	// InsecureNoTLS allows ldap:// without StartTLS: the service
	// account's password, and with BindVerify every user's password,
	// then cross the network in the clear. Use it for a directory on
	// the loopback interface or a socket nobody else can reach.
	InsecureNoTLS bool

	// BindDN and BindPassword are the service account the searches bind
	// as. An empty BindDN searches anonymously.
	BindDN, BindPassword string

	// BaseDN is where the accounts are: the base of every search.
	// Required. The store does not chase referrals.
	BaseDN string
	// Scope is the scope of the searches; the zero value is ScopeSubtree.
	Scope Scope
	// Filter is the search filter (RFC 4515) with one "%s" where the
	// user name goes, such as "(&(objectClass=inetOrgPerson)(uid=%s))".
	// The name is prepared with SASLprep and then escaped (RFC 4515
	// section 3) before it replaces the "%s", so that no name can change
	// the filter's structure. Required.
	Filter string
	// NameAttr is the attribute whose value is the account's canonical
	// name. Empty means DefaultNameAttr, "uid".
	NameAttr string
	// MatchByDirectory accepts the entry the filter matches under the
	// directory's own matching rules. By default the entry must also
	// hold a NameAttr value equal, after SASLprep, to the prepared name
	// (the name comparison of package creds: uid's caseIgnoreMatch would
	// let "ALICE" log in as "alice", and "alice " too, by RFC 4518's
	// space handling). Set it when the filter matches another attribute
	// than NameAttr (a mail address that logs in as its uid); the
	// account's name is then its one NameAttr value.
	MatchByDirectory bool
	// NoPasswordPrep compares and sends passwords byte for byte.
	// By default a password is prepared with SASLprep (RFC 4013), as
	// package creds prepares the passwords it hashes; slapd itself
	// hashes the bytes it is given, so set this for a directory whose
	// users have non-ASCII passwords that SASLprep changes and whose
	// hashes were made by slappasswd or a password modify operation.
	NoPasswordPrep bool

	// BindVerify checks passwords by binding as the user's entry (a
	// simple bind, RFC 4513 section 5.1.3, on connections of their own),
	// for directories that do not release password hashes: the directory
	// answers invalidCredentials (49) for a wrong password, and any other
	// failure is a failure of the store. userPassword is then neither
	// read nor needed.
	BindVerify bool
	// DecoyDN is the entry an unknown user's password check binds as,
	// with a random password, when BindVerify is set, so that an unknown
	// user costs what a wrong password costs: the search, a bind round
	// trip, and the directory's hashing. Name an entry that the filter
	// does not match, whose userPassword is of the accounts' scheme and
	// cost and whose password nobody knows, and which no password policy
	// locks. Required with BindVerify; Open checks that the service
	// account can see it. (A DN that does not exist would be answered
	// without hashing: measured against slapd with Argon2id accounts, an
	// unknown user then took a tenth of a wrong password's time.)
	DecoyDN string
	// Decoy is a userPassword value ("{ARGON2}$argon2id$…") of the cost
	// of the accounts' passwords, that an unknown user's password is
	// checked against when BindVerify is not set. Empty means one taken
	// from the entries the store samples when it opens and on Refresh:
	// one of the most common scheme and cost.
	Decoy string
	// Sample is how many entries Open and Refresh read to learn what the
	// accounts hold (the decoy's scheme and cost, SCRAM salt lengths and
	// iteration counts). Zero means DefaultSample, 32.
	Sample int

	// PoolSize is the most connections the store keeps for searches, and
	// as many again for BindVerify's binds; operations beyond it wait for
	// a connection or their context. Zero means DefaultPoolSize, 4.
	PoolSize int
	// Timeout bounds every operation: connecting, StartTLS and the bind
	// of a new connection, each search and each bind (with go-ldap's
	// request timeout, and the search's time limit at the server), within
	// the context's own deadline. CheckPassword, which has no context,
	// binds within it. Zero means DefaultTimeout, 10 seconds.
	Timeout time.Duration

	// set by check:
	addr   string // host:port
	host   string
	ldaps  bool
	prefix string // the filter before and after the "%s"
	suffix string
}

// check validates c and fills in the defaults and the parsed fields.
func (c *Config) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: ldapstore: %s", creds.ErrMisconfigured, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return bad("URL does not parse")
	}
	switch u.Scheme {
	case "ldap":
	case "ldaps":
		c.ldaps = true
	default:
		return bad("URL scheme %q: want ldap or ldaps", u.Scheme)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
		return bad("URL must be ldap[s]://host[:port] alone")
	}
	c.host = u.Hostname()
	port := u.Port()
	if port == "" {
		port = "389"
		if c.ldaps {
			port = "636"
		}
	}
	c.addr = net.JoinHostPort(c.host, port)
	switch {
	case c.ldaps && c.StartTLS:
		return bad("StartTLS with ldaps://")
	case !c.ldaps && !c.StartTLS && !c.InsecureNoTLS:
		return bad("ldap:// without StartTLS sends passwords in the clear: set StartTLS, use ldaps://, or set InsecureNoTLS")
	case c.BaseDN == "":
		return bad("no BaseDN")
	case c.BindDN == "" && c.BindPassword != "":
		return bad("a BindPassword without a BindDN")
	case c.BindDN != "" && c.BindPassword == "":
		// An empty password would make an unauthenticated bind (RFC
		// 4513 section 5.1.2): anonymous, whatever BindDN says.
		return bad("a BindDN without a BindPassword")
	case c.Scope < ScopeSubtree || c.Scope > ScopeBase:
		return bad("unknown Scope %d", c.Scope)
	case c.Timeout < 0 || c.PoolSize < 0 || c.Sample < 0:
		return bad("negative Timeout, PoolSize or Sample")
	}
	if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		return bad("BaseDN does not parse")
	}
	if c.DecoyDN != "" {
		if _, err := ldap.ParseDN(c.DecoyDN); err != nil {
			return bad("DecoyDN does not parse")
		}
	}
	if strings.Count(c.Filter, "%s") != 1 {
		return bad("Filter must hold exactly one %%s")
	}
	c.prefix, c.suffix, _ = strings.Cut(c.Filter, "%s")
	for _, v := range []string{"x", "*"} {
		if _, err := ldap.CompileFilter(c.prefix + v + c.suffix); err != nil {
			return bad("Filter does not compile: %v", err)
		}
	}
	if c.NameAttr == "" {
		c.NameAttr = DefaultNameAttr
	}
	if strings.ContainsAny(c.NameAttr, " ;()=*\\\x00") {
		return bad("NameAttr is not an attribute type")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.Sample == 0 {
		c.Sample = DefaultSample
	}
	if c.BindVerify && c.DecoyDN == "" {
		return bad("BindVerify needs a DecoyDN, an entry of the accounts' password scheme to bind as for unknown users")
	}
	if c.Decoy != "" && c.BindVerify {
		return bad("Decoy is a userPassword value, which BindVerify does not read: set DecoyDN")
	}
	return nil
}

// tlsConfig returns the TLS configuration of connections, or nil for
// plain ldap://.
func (c *Config) tlsConfig() *tls.Config {
	if !c.ldaps && !c.StartTLS {
		return nil
	}
	var tc *tls.Config
	if c.TLS != nil {
		tc = c.TLS.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = c.host
	}
	return tc
}

// filterFor returns the filter for the prepared name, escaped.
func (c *Config) filterFor(name string) string {
	return c.prefix + ldap.EscapeFilter(name) + c.suffix
}

// scope returns c.Scope as go-ldap's constant.
func (c *Config) scope() int {
	switch c.Scope {
	case ScopeOneLevel:
		return ldap.ScopeSingleLevel
	case ScopeBase:
		return ldap.ScopeBaseObject
	}
	return ldap.ScopeWholeSubtree
}

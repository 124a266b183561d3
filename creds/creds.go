// Package creds holds the credentials of a SASL (RFC 4422) exchange and the
// one place where a server checks them.
//
// # Client
//
// A client authenticates with a [Client]: a user name, a password or a
// bearer token, and an optional authorization identity.
//
// # Server: where a secret is checked
//
// A server keeps its accounts in a [Store], and checks every secret through
// one [Verifier] built on it. Server mechanisms never read the store
// themselves: PLAIN and LOGIN call [Verifier.CheckPassword], CRAM-MD5
// [Verifier.CheckClear], and the SCRAM family [Verifier.LookupSCRAM]. The
// Verifier is where the defences live, once for every mechanism:
//
//   - An unknown user is checked against a decoy that costs what the
//     store's accounts cost, and fails with [ErrBadCredentials], the error
//     of a wrong password. SCRAM gets mock keys shaped like the store's
//     (salt length, iteration count), stable across restarts when
//     [Verifier.Secret] is set.
//   - Password checks run at most [Verifier.MaxConcurrent] at a time, so
//     that memory-hard hashes cannot exhaust memory before authentication.
//   - Success yields the account's canonical name, [Identity.AccountName],
//     never the client's spelling of it.
//
// An account is an [Identity]. What a mechanism needs from it is an
// optional capability, a small interface: [PasswordChecker] (PLAIN, LOGIN),
// [ClearSecretHolder] (CRAM-MD5), [SCRAMKeyHolder] (SCRAM). [Account] is
// the record that has all three, so that one record serves PLAIN and SCRAM,
// and [MemoryStore] is a Store of Accounts.
//
// A server session (package [github.com/saslkit/saslkit/session]) ends
// with a [Principal]: who authenticated, by the store, a token validator or
// the transport, and whom it acts as once the [Authorizer] allowed it.
//
// Passwords and user names are prepared with SASLprep (RFC 4013, package
// [github.com/saslkit/saslkit/creds/prep]) unless an account opts out.
package creds

import (
	"context"
	"errors"
	"fmt"

	"github.com/saslkit/saslkit/creds/prep"
)

// Errors of the server side. Match them with errors.Is.
var (
	// ErrBadCredentials means the secret does not match the account, or
	// that there is no such account. The two are deliberately
	// indistinguishable, in error, steps and cost.
	ErrBadCredentials = errors.New("saslkit/creds: invalid credentials")

	// ErrUnauthorized means the authenticated user may not act as the
	// authorization identity it asked for. It is an authorization failure,
	// not an authentication failure, and protocols report the two
	// differently (IMAP [AUTHORIZATIONFAILED], SMTP 535, XMPP
	// invalid-authzid).
	ErrUnauthorized = errors.New("saslkit/creds: not authorized to act as the requested identity")

	// ErrUnknownUser is what a [Store] returns, wrapped or not, for a name
	// it holds no account for. A [Verifier] never passes it on: it turns it
	// into [ErrBadCredentials] after the same work as a wrong secret.
	ErrUnknownUser = errors.New("saslkit/creds: unknown user")

	// ErrMisconfigured means the server's configuration cannot support
	// what was asked, such as a store that holds no SCRAM keys for a
	// SCRAM mechanism. It is reported when a registry or session is built;
	// during an exchange only when a token validator accepts a token
	// without naming its subject. It is never a wrong password.
	ErrMisconfigured = errors.New("saslkit/creds: misconfigured")
)

// Client holds the credentials a client authenticates with.
//
// Which fields a mechanism uses is stated by the mechanism: PLAIN, LOGIN,
// CRAM-MD5 and SCRAM use Password; XOAUTH2 and OAUTHBEARER use Token;
// EXTERNAL uses only Authzid; ANONYMOUS only Trace. Keeping the password and
// the token apart lets a client pick a mechanism it can actually run.
type Client struct {
	// Authcid is the authentication identity: the user name.
	Authcid string
	// Password is the user's password, if the client has one.
	Password string
	// Token is a bearer token (RFC 6750), if the client has one.
	Token string
	// Authzid is the authorization identity the client asks to act as. Empty
	// means no authorization identity is requested: act as Authcid.
	Authzid string
	// Trace is the trace token ANONYMOUS sends (RFC 4505): an email address
	// or up to 255 characters. Empty sends none.
	Trace string
}

// Principal is the outcome of a server exchange that completed: the
// account that authenticated, by its canonical name, and the identity it
// acts as. A server session hands one to the application only once the
// account was authenticated (by the [Verifier], a token validator or the
// transport) and authorized ([Authorize]), or, for ANONYMOUS, which a
// server offers only when it registers it, as an anonymous Principal that
// names no account ([Principal.Anonymous]). A Principal is immutable and
// safe for concurrent use.
type Principal struct {
	mech      string
	account   string
	authzid   string
	trace     string
	anonymous bool
}

// NewPrincipal returns the principal of account, authenticated by
// mechanism mech, which asked to act as authzid (empty: as itself).
// Mechanisms call it once they have verified account; account must be the
// canonical name the verification returned.
func NewPrincipal(mech, account, authzid string) *Principal {
	return &Principal{mech: mech, account: account, authzid: authzid}
}

// NewAnonymous returns the principal of an ANONYMOUS login (RFC 4505) with
// the client's trace token, possibly empty. It names no account.
func NewAnonymous(mech, trace string) *Principal {
	return &Principal{mech: mech, trace: trace, anonymous: true}
}

// Mechanism returns the name of the mechanism that authenticated.
func (p *Principal) Mechanism() string { return p.mech }

// Account returns the canonical name of the account that authenticated,
// whatever spelling the client used: for mechanisms that check a secret
// through the [Verifier], the name its [Identity] has in the store; for
// EXTERNAL, the identity the transport vouched for; for the token
// mechanisms, the subject the token validator named. The last two are not
// looked up in the store. It is empty for an anonymous principal.
func (p *Principal) Account() string { return p.account }

// Authzid returns the authorization identity. In a Principal that a
// session hands out (after [Authorize]) it is prepared with SASLprep, and
// "" when the client asked for none or asked for its own account; in one a
// mechanism has just made, it is what the client sent.
func (p *Principal) Authzid() string { return p.authzid }

// Effective returns the identity the session acts as: the authzid, or the
// account when there is none.
func (p *Principal) Effective() string {
	if p.authzid != "" {
		return p.authzid
	}
	return p.account
}

// Anonymous reports whether the principal is anonymous (ANONYMOUS): it
// names no account, and the application decides what a guest may do.
func (p *Principal) Anonymous() bool { return p.anonymous }

// Trace returns the trace token of an anonymous principal, or "".
func (p *Principal) Trace() string { return p.trace }

// String describes the principal, for logs.
func (p *Principal) String() string {
	if p.anonymous {
		return p.mech + " anonymous"
	}
	if p.authzid != "" {
		return fmt.Sprintf("%s account=%q authzid=%q", p.mech, p.account, p.authzid)
	}
	return fmt.Sprintf("%s account=%q", p.mech, p.account)
}

// Authorizer decides whether an authenticated account may act as another
// identity. It is called only after authentication succeeded, and only
// when the client asked for an authzid other than its own account; both
// names are canonical (the account's name in the store, the authzid
// prepared with SASLprep). It returns nil to allow, an error wrapping
// [ErrUnauthorized] to refuse, and any other error for a temporary
// failure. It must be safe for concurrent use.
type Authorizer interface {
	Authorize(ctx context.Context, account, authzid string) error
}

// AuthorizerFunc adapts a function to an [Authorizer].
type AuthorizerFunc func(ctx context.Context, account, authzid string) error

// Authorize calls f(ctx, account, authzid).
func (f AuthorizerFunc) Authorize(ctx context.Context, account, authzid string) error {
	return f(ctx, account, authzid)
}

// SelfOnly is the default [Authorizer], Cyrus SASL's default proxy policy:
// an account may act only as itself. Since an authzid naming the account
// itself never reaches an Authorizer, SelfOnly refuses every call.
var SelfOnly Authorizer = AuthorizerFunc(func(context.Context, string, string) error {
	return ErrUnauthorized
})

// Authorize applies the policy a (nil means [SelfOnly]) to p, an
// authenticated principal, and returns the principal to hand to the
// application. The authzid is prepared with SASLprep first; one that
// prepares to p's account is the account itself, and is dropped without
// asking a. An authzid that fails SASLprep is refused with
// [ErrUnauthorized].
func Authorize(ctx context.Context, a Authorizer, p *Principal) (*Principal, error) {
	if p.anonymous || p.authzid == "" {
		return p, nil
	}
	z := p.authzid
	if z != p.account {
		var err error
		if z, err = prep.Query(z); err != nil || z == "" {
			return nil, ErrUnauthorized
		}
	}
	if z == p.account || samePrepared(z, p.account) {
		return NewPrincipal(p.mech, p.account, ""), nil
	}
	if a == nil {
		a = SelfOnly
	}
	if err := a.Authorize(ctx, p.account, z); err != nil {
		return nil, err
	}
	return NewPrincipal(p.mech, p.account, z), nil
}

// samePrepared reports whether the prepared authzid z names account, whose
// canonical name may be in another form. Taking an authzid for the account
// itself grants nothing, so the match may be loose.
func samePrepared(z, account string) bool {
	pa, err := prep.Query(account)
	return err == nil && pa == z
}

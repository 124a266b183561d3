package ldapstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// ErrAmbiguous means that more than one entry matches a user name: the
// filter or the directory is wrong, and no entry is chosen. It comes
// wrapped in an *[Error], a failure of the store, never a login.
var ErrAmbiguous = errors.New("saslkit/ldapstore: more than one entry matches the name")

// Error is a failure of the directory or of the connection to it: a
// temporary failure of the store, never a wrong password nor an unknown
// user. Its text holds no password, and neither the user name nor the
// directory's diagnostic message (which may echo one).
type Error struct {
	// Op is what failed: "search", "bind", "lookup".
	Op string
	// Code is the LDAP result code (RFC 4511 section 4.1.9) when the
	// directory answered with one, or 0.
	Code uint16
	// Err is the cause: an *ldap.Error of github.com/go-ldap/ldap/v3, a
	// network error, a context's error, [ErrAmbiguous], or a
	// [*SchemeError].
	Err error
}

// Error describes the failure.
func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("saslkit/ldapstore: %s: LDAP result %d (%s)", e.Op, e.Code, ldap.LDAPResultCodeMap[e.Code])
	}
	return fmt.Sprintf("saslkit/ldapstore: %s: %v", e.Op, e.Err)
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports true: a store failure may pass, and is reported to a
// client as a temporary failure, not as a refused login.
func (e *Error) Temporary() bool { return true }

// opError wraps err, the failure of op, as an *Error.
func opError(op string, ctx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if ctx != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	out := &Error{Op: op, Err: err}
	var sb *serviceBindError
	if errors.As(err, &sb) {
		out.Op = op + ": bind as the service account"
	}
	var le *ldap.Error
	if errors.As(err, &le) && le.ResultCode < ldap.ErrorNetwork {
		out.Code = le.ResultCode
	}
	return out
}

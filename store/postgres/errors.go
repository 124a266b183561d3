package postgres

import (
	"errors"

	"github.com/saslkit/saslkit/creds"
)

// Error is a failure of the database behind a [Store]: it could not be
// reached, a query failed or ran past its deadline, or a row it read is
// malformed ([ErrCorrupt]). It is a temporary failure of the store, never
// a wrong password or an unknown user: it wraps neither
// [creds.ErrUnknownUser] nor [creds.ErrBadCredentials], so that a
// [creds.Verifier] passes it on and outcome.Of sorts it as Temporary.
// Match it with errors.As; errors.Is sees through it to the cause
// (context.DeadlineExceeded, a *pgconn.PgError, ...). Its text holds no
// secret.
type Error struct {
	// Op is what the store was doing: "lookup", "set account", "delete
	// account", "upgrade", "refresh profile", "open" or "migrate".
	Op string
	// Err is the cause.
	Err error
}

func (e *Error) Error() string { return "saslkit/store/postgres: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports true: retrying later may succeed.
func (e *Error) Temporary() bool { return true }

// ErrCorrupt means a row breaks the schema's rules in a way PostgreSQL's
// constraints cannot catch: its lookup_name is not what SASLprep makes of
// its name. Such an account is refused (as an [*Error]), never matched.
var ErrCorrupt = errors.New("saslkit/store/postgres: malformed account row")

// dbError wraps err, a failure of op, in an [*Error], and passes nil and
// the errors of the creds package (an unknown user, a misconfigured
// account) through as they are.
func dbError(op string, err error) error {
	if err == nil || errors.Is(err, creds.ErrUnknownUser) || errors.Is(err, creds.ErrMisconfigured) {
		return err
	}
	return &Error{Op: op, Err: err}
}

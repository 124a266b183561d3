package outcome_test

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/outcome"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// sentinels are the errors docs/errors.md names, by their names there.
var sentinels = map[string]error{
	"creds.ErrBadCredentials":        creds.ErrBadCredentials,
	"creds.ErrUnauthorized":          creds.ErrUnauthorized,
	"creds.ErrMisconfigured":         creds.ErrMisconfigured,
	"mech.ErrAuthFailed":             mech.ErrAuthFailed,
	"mech.ErrInvalidResponse":        mech.ErrInvalidResponse,
	"mech.ErrNoInitialResponse":      mech.ErrNoInitialResponse,
	"session.ErrUnexpectedReply":     session.ErrUnexpectedReply,
	"session.ErrBase64":              session.ErrBase64,
	"session.ErrTooLarge":            session.ErrTooLarge,
	"session.ErrTooManySteps":        session.ErrTooManySteps,
	"registry.ErrUnknown":            registry.ErrUnknown,
	"registry.ErrEncryptionRequired": registry.ErrEncryptionRequired,
	"registry.ErrNotOffered":         registry.ErrNotOffered,
	"outcome.ErrCancelled":           outcome.ErrCancelled,
	"outcome.ErrTooWeak":             outcome.ErrTooWeak,
}

var kinds = map[string]outcome.Kind{
	"OK":                 outcome.OK,
	"BadCredentials":     outcome.BadCredentials,
	"Unauthorized":       outcome.Unauthorized,
	"TooWeak":            outcome.TooWeak,
	"Malformed":          outcome.Malformed,
	"BadEncoding":        outcome.BadEncoding,
	"Cancelled":          outcome.Cancelled,
	"LimitExceeded":      outcome.LimitExceeded,
	"UnknownMechanism":   outcome.UnknownMechanism,
	"EncryptionRequired": outcome.EncryptionRequired,
	"NotOffered":         outcome.NotOffered,
	"Misconfigured":      outcome.Misconfigured,
	"Temporary":          outcome.Temporary,
}

var (
	tick     = regexp.MustCompile("`([^`]*)`")
	ldapCode = regexp.MustCompile(`\((\d+)\)`)
)

// TestTable checks every row of docs/errors.md's table: the errors it names
// are the outcome it names, and the outcome's replies are the row's.
func TestTable(t *testing.T) {
	doc, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	seen := map[outcome.Kind]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 7 {
			t.Fatalf("row with %d cells: %s", len(cells), line)
		}
		first := func(cell string) string {
			m := tick.FindStringSubmatch(cell)
			if m == nil {
				return ""
			}
			return m[1]
		}
		kind, ok := kinds[first(cells[0])]
		if !ok {
			t.Errorf("unknown outcome %q", cells[0])
			continue
		}
		rows++
		seen[kind] = true

		// The errors of the row.
		var errs []error
		for _, m := range tick.FindAllStringSubmatch(cells[2], -1) {
			if m[1] == "nil" {
				errs = append(errs, nil)
			} else if e, ok := sentinels[m[1]]; ok {
				errs = append(errs, e)
			}
		}
		if kind == outcome.Temporary {
			errs = append(errs, errors.New("store: connection refused"))
		}
		if len(errs) == 0 {
			t.Errorf("%s: row names no error: %s", kind, cells[2])
		}
		for _, e := range errs {
			// As the library returns them: wrapped.
			if e != nil {
				e = fmt.Errorf("context: %w", e)
			}
			if got := outcome.Of(e); got != kind {
				t.Errorf("Of(%v) = %v; the table says %v", e, got, kind)
			}
		}

		// The replies.
		im := kind.IMAP()
		wantIMAP := im.Status
		if im.Code != "" {
			wantIMAP += " [" + im.Code + "]"
		}
		if got := first(cells[3]); got != wantIMAP {
			t.Errorf("%v: IMAP %q in the table, %q from IMAP()", kind, got, wantIMAP)
		}
		sm := kind.SMTP()
		if got, want := first(cells[4]), fmt.Sprintf("%d %d.%d.%d", sm.Code, sm.Enhanced[0], sm.Enhanced[1], sm.Enhanced[2]); got != want {
			t.Errorf("%v: SMTP %q in the table, %q from SMTP()", kind, got, want)
		}
		if got, want := first(cells[5]), "<"+kind.XMPP()+"/>"; got != want {
			t.Errorf("%v: XMPP %q in the table, %q from XMPP()", kind, got, want)
		}
		code, ok := kind.LDAP()
		m := ldapCode.FindStringSubmatch(cells[6])
		switch {
		case !ok && m != nil:
			t.Errorf("%v: LDAP code %s in the table, none from LDAP()", kind, m[1])
		case ok && (m == nil || m[1] != strconv.Itoa(code)):
			t.Errorf("%v: LDAP %q in the table, %d from LDAP()", kind, cells[6], code)
		}
	}
	for k := outcome.OK; k <= outcome.Temporary; k++ {
		if !seen[k] {
			t.Errorf("the table has no row for %v", k)
		}
	}
	if rows < 13 {
		t.Errorf("found %d rows", rows)
	}
}

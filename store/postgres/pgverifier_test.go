package postgres

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/creds"
)

// TestPostgresVerifiers logs in with saslkit's SCRAM-SHA-256 against keys
// PostgreSQL made: roles created with passwords in the real server, their
// pg_authid.rolpassword copied into the store by SQL (import_scram) and by
// Go (creds.ParseSCRAMKeys and SetAccount).
func TestPostgresVerifiers(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	s := newTestStore(t, nil, creds.Account{Name: "pgalice"})
	pool := s.Pool()
	// PostgreSQL prepares passwords with SASLprep too: "ﬁ" is "fi".
	roles := map[string]string{"pgalice": "alice-Pencil-2", "pgcarol": "\ufb01sh-3"}
	for role, pw := range roles {
		role := s.schema + "_" + role
		if _, err := pool.Exec(ctx, `CREATE ROLE `+role+` LOGIN PASSWORD '`+pw+`'`); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Exec(testCtx(t, 10*time.Second), `DROP ROLE IF EXISTS `+role) })
	}
	verifier := func(role string) string {
		var v string
		if err := pool.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, s.schema+"_"+role).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(v, "SCRAM-SHA-256$4096:") {
			t.Fatalf("rolpassword of %s is not a SCRAM-SHA-256 verifier", role)
		}
		return v
	}

	// By SQL, from pg_authid to the store, with no application code.
	_, err := pool.Exec(ctx, `SELECT `+s.schema+`.import_scram('pgalice', rolpassword) FROM pg_authid WHERE rolname = $1`, s.schema+"_pgalice")
	if err != nil {
		t.Fatal(err)
	}
	want, err := creds.ParseSCRAMKeys(verifier("pgalice"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]creds.SCRAMKeys{want}, accountKeys(t, s, "pgalice")); diff != "" {
		t.Errorf("imported keys (-want +got):\n%s", diff)
	}
	// By Go.
	k, err := creds.ParseSCRAMKeys(verifier("pgcarol"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetAccount(ctx, creds.Account{Name: "pgcarol", SCRAM: []creds.SCRAMKeys{k}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshProfile(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]creds.SCRAMShape{{Hash: "SHA-256", SaltLen: 16, Iterations: 4096}}, s.Profile().SCRAM); diff != "" {
		t.Errorf("profile's SCRAM shapes (-want +got):\n%s", diff)
	}

	v := &creds.Verifier{Store: s}
	for _, tc := range []struct{ user, password string }{
		{"pgalice", "alice-Pencil-2"},
		{"pgcarol", "\ufb01sh-3"},
		{"pgcarol", "fish-3"}, // the same password after SASLprep
	} {
		if got, err := scramLogin(ctx, s, "SHA-256", tc.user, tc.password); err != nil || got != tc.user {
			t.Errorf("SCRAM-SHA-256 as %s: %q, %v", tc.user, got, err)
		}
		if got, err := v.CheckPassword(ctx, tc.user, tc.password); err != nil || got != tc.user {
			t.Errorf("PLAIN as %s: %q, %v", tc.user, got, err)
		}
		if _, err := scramLogin(ctx, s, "SHA-256", tc.user, tc.password+"x"); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("SCRAM-SHA-256 as %s with a wrong password: %v, want ErrBadCredentials", tc.user, err)
		}
	}

	// import_scram refuses what is not a verifier, without echoing it.
	for _, tc := range []struct{ account, verifier, want string }{
		{"pgalice", "md5c0ffee", "not a SCRAM verifier"},
		{"pgalice", "SCRAM-SHA-256$4096:c2FsdA==$c2VjcmV0:c2VjcmV0", "constraint"},
		{"nobody", verifier("pgalice"), "no account"},
	} {
		_, err := pool.Exec(ctx, `SELECT `+s.schema+`.import_scram($1, $2)`, tc.account, tc.verifier)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.verifier) {
			t.Errorf("import_scram(%q) = %v, want an error with %q", tc.account, err, tc.want)
		}
	}
}

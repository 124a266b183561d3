package creds_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
)

// testHasher is a cheap hasher, so that tests stay fast.
var testHasher = hash.PBKDF2{Digest: "sha256", Rounds: 1000}

func mustHashed(t testing.TB, name, password string, noprep bool) creds.HashedIdentity {
	t.Helper()
	h, err := creds.NewHashedIdentity(name, password, testHasher, noprep)
	if err != nil {
		t.Fatalf("NewHashedIdentity(%q): %v", name, err)
	}
	return h
}

// checkErr reports whether err matches want: nil for nil, errors.Is
// otherwise. A want of errExternal asks for an *creds.ExternalError.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == errExternal:
		var ee *creds.ExternalError
		if !errors.As(err, &ee) {
			t.Errorf("%s = %v, want *creds.ExternalError", what, err)
		}
	case want == nil:
		if err != nil {
			t.Errorf("%s = %v, want nil", what, err)
		}
	case !errors.Is(err, want):
		t.Errorf("%s = %v, want %v", what, err, want)
	}
}

var errExternal = errors.New("want *creds.ExternalError")

func TestServerVerify(t *testing.T) {
	hashed := mustHashed(t, "alice", "secret", false)
	clear := creds.ClearIdentity{Name: "alice", Password: "secret"}
	wrong := creds.ClearIdentity{Name: "alice", Password: "other"}
	stranger := creds.ClearIdentity{Name: "bob", Password: "secret"}
	boom := errors.New("boom")

	pw := creds.NewPasswordServer("PLAIN", "alice", "", "secret")
	tests := []struct {
		name string
		c    *creds.Server
		id   creds.Identity
		want error
	}{
		{"password clear", pw, clear, nil},
		{"password hashed", pw, hashed, nil},
		{"password wrong", pw, wrong, creds.ErrBadCredentials},
		{"password hashed wrong", creds.NewPasswordServer("PLAIN", "alice", "", "other"), hashed, creds.ErrBadCredentials},
		{"password nil identity", pw, nil, creds.ErrBadCredentials},
		{"password name mismatch", pw, stranger, creds.ErrBadCredentials},
		{"password decoy", pw, creds.Decoy(hashed.Hash), creds.ErrBadCredentials},
		{"password clear decoy", pw, creds.Decoy(""), creds.ErrBadCredentials},
		{"password name after SASLprep", creds.NewPasswordServer("PLAIN", "al\u00ADice", "", "secret"), clear, nil},
		{"password malformed hash", pw, creds.HashedIdentity{Name: "alice", Hash: "$pbkdf2-sha256$garbage"}, creds.ErrBadCredentials},
		{"token", creds.NewTokenServer("XOAUTH2", "alice", "", "tok"), clear, errExternal},
		{"token nil identity", creds.NewTokenServer("XOAUTH2", "alice", "", "tok"), nil, errExternal},
		{"external", creds.NewExternalServer("EXTERNAL", "CN=alice", ""), nil, errExternal},
		{"external any identity", creds.NewExternalServer("EXTERNAL", "", "alice"), stranger, errExternal},
		{"verified", creds.NewVerifiedServer("SCRAM-SHA-256", "alice", ""), nil, nil},
		{"verified other identity", creds.NewVerifiedServer("SCRAM-SHA-256", "alice", ""), stranger, nil},
		{"verifier ok", creds.NewServer("X", "alice", "", creds.VerifierFunc(func(creds.Identity) error { return nil })), clear, nil},
		{"verifier error", creds.NewServer("X", "alice", "", creds.VerifierFunc(func(creds.Identity) error { return boom })), clear, boom},
		{"verifier unusable", creds.NewServer("X", "alice", "", creds.VerifierFunc(func(creds.Identity) error { return creds.ErrUnusable })), hashed, creds.ErrUnusable},
		{"verifier name mismatch", creds.NewServer("X", "alice", "", creds.VerifierFunc(func(creds.Identity) error { return nil })), stranger, creds.ErrBadCredentials},
		{"verifier nil identity", creds.NewServer("X", "alice", "", creds.VerifierFunc(func(creds.Identity) error { return nil })), nil, creds.ErrBadCredentials},
		{"nil verifier", creds.NewServer("X", "alice", "", nil), clear, creds.ErrBadCredentials},
		{"nil server", nil, clear, creds.ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, "Verify", tc.c.Verify(tc.id), tc.want)
		})
	}
}

// TestVerifierSeesNoDecoyOrMismatch: a mechanism's Verifier is called with
// the real identity only; for an unknown user or a name mismatch it runs
// against a decoy (so the cost is the same) and its answer is ignored.
func TestVerifierSeesNoDecoyOrMismatch(t *testing.T) {
	var got []string
	v := creds.VerifierFunc(func(id creds.Identity) error {
		got = append(got, id.Authcid())
		return nil
	})
	c := creds.NewServer("X", "alice", "", v)
	for _, id := range []creds.Identity{nil, creds.ClearIdentity{Name: "bob", Password: "p"}, creds.Decoy("")} {
		if err := c.Verify(id); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("Verify(%v) = %v, want ErrBadCredentials", id, err)
		}
	}
	if err := c.Verify(creds.ClearIdentity{Name: "alice", Password: "p"}); err != nil {
		t.Errorf("Verify(alice) = %v", err)
	}
	// The decoy answers to the empty name; the real identity to "alice".
	if diff := cmp.Diff([]string{"", "", "", "alice"}, got); diff != "" {
		t.Errorf("identities the verifier saw (-want +got):\n%s", diff)
	}
}

func TestExternalErrorHidesToken(t *testing.T) {
	const token = "ya29.secret-token-value"
	err := creds.NewTokenServer("XOAUTH2", "alice", "", token).Verify(nil)
	var ee *creds.ExternalError
	if !errors.As(err, &ee) {
		t.Fatalf("Verify = %v, want *ExternalError", err)
	}
	if diff := cmp.Diff(token, ee.Token); diff != "" {
		t.Errorf("Token (-want +got):\n%s", diff)
	}
	for _, text := range []string{err.Error(), fmt.Sprint(err), fmt.Sprintf("%v %s %+v", err, err, err)} {
		if strings.Contains(text, token) || strings.Contains(text, "secret") {
			t.Errorf("error text %q holds the token", text)
		}
	}
	if got := (&creds.ExternalError{}).Error(); got == "" || got == err.Error() {
		t.Errorf("EXTERNAL's text %q should differ from the token's", got)
	}
}

// TestClearIdentityUnicode covers pysasl's bug: non-ASCII passwords raised.
func TestClearIdentityUnicode(t *testing.T) {
	tests := []struct {
		name     string
		stored   string
		offered  string
		noprep   bool
		want     error
		wantPrep string // what Secret returns
	}{
		{name: "latin", stored: "pässwörd", offered: "pässwörd", wantPrep: "pässwörd"},
		{name: "cjk", stored: "密码密码", offered: "密码密码", wantPrep: "密码密码"},
		{name: "cyrillic", stored: "пароль", offered: "пароль", wantPrep: "пароль"},
		{name: "NFKC both sides", stored: "\u2163", offered: "IV", wantPrep: "IV"},
		{name: "decomposed offered", stored: "caf\u00e9", offered: "cafe\u0301", wantPrep: "caf\u00e9"},
		{name: "mapped to nothing", stored: "pass\u00ADword", offered: "pass\u200Bword", wantPrep: "password"},
		{name: "non-ASCII space", stored: "a\u00A0b", offered: "a b", wantPrep: "a b"},
		{name: "latin wrong", stored: "pässwörd", offered: "passwort", want: creds.ErrBadCredentials, wantPrep: "pässwörd"},
		{name: "noprep exact", stored: "\u2163", offered: "\u2163", noprep: true, wantPrep: "\u2163"},
		{name: "noprep no NFKC", stored: "\u2163", offered: "IV", noprep: true, want: creds.ErrBadCredentials, wantPrep: "\u2163"},
		{name: "prohibited offered", stored: "secret", offered: "sec\u0007ret", want: creds.ErrBadCredentials, wantPrep: "secret"},
		{name: "invalid UTF-8 offered", stored: "secret", offered: "sec\xffret", want: creds.ErrBadCredentials, wantPrep: "secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := creds.ClearIdentity{Name: "u", Password: tc.stored, NoPrep: tc.noprep}
			checkErr(t, "Compare", id.Compare(tc.offered), tc.want)
			s, ok := id.Secret()
			if diff := cmp.Diff(tc.wantPrep, s); diff != "" || !ok {
				t.Errorf("Secret = _, %v; (-want +got):\n%s", ok, diff)
			}
		})
	}
}

func TestEmptyPasswordNeverMatches(t *testing.T) {
	tests := []struct {
		name string
		id   creds.Identity
	}{
		{"clear", creds.ClearIdentity{Name: "u"}},
		{"clear noprep", creds.ClearIdentity{Name: "u", NoPrep: true}},
		{"clear mapped to nothing", creds.ClearIdentity{Name: "u", Password: "\u00AD"}},
		{"zero value", creds.ClearIdentity{}},
		{"hashed", mustHashed(t, "u", "", false)},
	}
	for _, tc := range tests {
		for _, offered := range []string{"", "\u00AD", "x"} {
			t.Run(tc.name+"/"+fmt.Sprintf("%q", offered), func(t *testing.T) {
				if err := tc.id.Compare(offered); !errors.Is(err, creds.ErrBadCredentials) {
					t.Errorf("Compare(%q) = %v, want ErrBadCredentials", offered, err)
				}
			})
		}
	}
	if err := creds.NewPasswordServer("PLAIN", "u", "", "").Verify(creds.ClearIdentity{Name: "u"}); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("Verify(empty, empty) = %v, want ErrBadCredentials", err)
	}
}

func TestHashedIdentity(t *testing.T) {
	h := mustHashed(t, "u", "pass\u00ADword", false)
	raw := mustHashed(t, "u", "pass\u00ADword", true)
	tests := []struct {
		name    string
		id      creds.HashedIdentity
		offered string
		want    error
	}{
		{"prepared", h, "password", nil},
		{"prepared mapped", h, "pass\u200Bword", nil},
		{"wrong", h, "passwort", creds.ErrBadCredentials},
		{"prohibited", h, "pass\u0007word", creds.ErrBadCredentials},
		{"noprep exact", raw, "pass\u00ADword", nil},
		{"noprep unprepared", raw, "password", creds.ErrBadCredentials},
		{"malformed", creds.HashedIdentity{Name: "u", Hash: "nonsense"}, "password", creds.ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, "Compare", tc.id.Compare(tc.offered), tc.want)
		})
	}
	var fe *hash.FormatError
	if err := (creds.HashedIdentity{Hash: "nonsense"}).Compare("x"); !errors.As(err, &fe) {
		t.Errorf("malformed hash: %v, want a *hash.FormatError too", err)
	}
	if s, ok := h.Secret(); ok || s != "" {
		t.Errorf("Secret = %q, %v; want none", s, ok)
	}
	if _, err := creds.NewHashedIdentity("u", "bad\u0007", testHasher, false); err == nil {
		t.Error("NewHashedIdentity with a prohibited character: no error")
	}
}

func TestNamesEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"alice", "alice", true},
		{"alice", "Alice", false},
		{"al\u00ADice", "alice", true},
		{"\u2163", "IV", true},
		{"a\u00A0b", "a b", true},
		{"", "", true},
		{"alice", "", false},
		{"bad\u0007", "bad\u0007", true}, // byte-equal needs no preparation
		{"bad\u0007", "bad", false},
		{"\xff", "\xff", true},
		{"\xff", "\xfe", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q=%q", tc.a, tc.b), func(t *testing.T) {
			if got := creds.NamesEqual(tc.a, tc.b); got != tc.want {
				t.Errorf("NamesEqual = %v, want %v", got, tc.want)
			}
			if got := creds.NamesEqual(tc.b, tc.a); got != tc.want {
				t.Errorf("NamesEqual reversed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMapStore(t *testing.T) {
	ctx := context.Background()
	alice := creds.ClearIdentity{Name: "alice", Password: "a"}
	four := creds.ClearIdentity{Name: "IV", Password: "4"}
	hyphen := creds.ClearIdentity{Name: "so\u00ADft", Password: "s"}

	var empty creds.MapStore
	if id, err := empty.Identity(ctx, "alice"); id != nil || err != nil {
		t.Errorf("zero MapStore: %v, %v; want nil, nil", id, err)
	}

	var m creds.MapStore
	m.Add(alice)
	m.Add(four)
	m.Add(hyphen)
	tests := []struct {
		name, query string
		want        creds.Identity
	}{
		{"exact", "alice", alice},
		{"case differs", "Alice", nil},
		{"query prepared", "al\u00ADice", alice},
		{"query NFKC", "\u2163", four},
		{"stored unprepared, exact", "so\u00ADft", hyphen},
		{"stored unprepared, query prepared", "soft", hyphen},
		{"unknown", "bob", nil},
		{"empty", "", nil},
		{"invalid UTF-8", "\xff", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := m.Identity(ctx, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				// Unknown: a decoy imitating the last identity added,
				// which verifies nothing, not even that identity's
				// password.
				if id == nil || id.Compare("s") == nil || creds.NewPasswordServer("PLAIN", tc.query, "", "s").Verify(id) == nil {
					t.Errorf("Identity(%q) = %v, want a decoy", tc.query, id)
				}
				return
			}
			if diff := cmp.Diff(tc.want, id); diff != "" {
				t.Errorf("Identity(%q) (-want +got):\n%s", tc.query, diff)
			}
		})
	}

	// Add replaces an identity of the same name.
	alice2 := creds.ClearIdentity{Name: "alice", Password: "b"}
	m.Add(alice2)
	if id, _ := m.Identity(ctx, "alice"); !cmp.Equal(id, creds.Identity(alice2)) {
		t.Errorf("after replacing: %v", id)
	}

	// With a decoy, unknown users get it, and it verifies nothing.
	d := creds.Decoy(mustHashed(t, "", "random", false).Hash)
	m.SetDecoy(d)
	id, err := m.Identity(ctx, "bob")
	if err != nil || id == nil {
		t.Fatalf("unknown with decoy: %v, %v", id, err)
	}
	if err := creds.NewPasswordServer("PLAIN", "bob", "", "random").Verify(id); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("Verify(decoy) = %v, want ErrBadCredentials", err)
	}
	if err := id.Compare("random"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("decoy Compare = %v, want ErrBadCredentials", err)
	}
	if id, _ := m.Identity(ctx, "alice"); !cmp.Equal(id, creds.Identity(alice2)) {
		t.Errorf("known user with decoy set: %v", id)
	}
}

func TestMapStoreConcurrent(t *testing.T) {
	var m creds.MapStore
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := range 50 {
				name := fmt.Sprintf("u%d-%d", i, j)
				m.Add(creds.ClearIdentity{Name: name, Password: "p"})
				if id, err := m.Identity(context.Background(), name); err != nil || id == nil {
					t.Errorf("Identity(%q) = %v, %v", name, id, err)
				}
				m.SetDecoy(creds.Decoy(""))
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("directory down")
	var calls int
	custom := creds.AuthorizerFunc(func(_ context.Context, authcid, authzid string) error {
		calls++
		switch {
		case authcid == "admin":
			return nil
		case authzid == "down":
			return boom
		}
		return fmt.Errorf("custom: %w", creds.ErrUnauthorized)
	})
	tests := []struct {
		name             string
		a                creds.Authorizer
		authcid, authzid string
		want             error
		calls            int
	}{
		{"self only, no authzid", nil, "alice", "", nil, 0},
		{"self only, same", nil, "alice", "alice", nil, 0},
		{"self only, same after SASLprep", nil, "alice", "al\u00ADice", nil, 0},
		{"self only, other", nil, "alice", "bob", creds.ErrUnauthorized, 0},
		{"self only, case differs", nil, "alice", "Alice", creds.ErrUnauthorized, 0},
		{"explicit self only", creds.SelfOnly, "alice", "bob", creds.ErrUnauthorized, 0},
		{"custom allows", custom, "admin", "bob", nil, 1},
		{"custom refuses", custom, "alice", "bob", creds.ErrUnauthorized, 1},
		{"custom temporary", custom, "alice", "down", boom, 1},
		{"custom not called without authzid", custom, "alice", "", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls = 0
			s := creds.NewPasswordServer("PLAIN", tc.authcid, tc.authzid, "p")
			checkErr(t, "Authorize", creds.Authorize(ctx, tc.a, s), tc.want)
			if calls != tc.calls {
				t.Errorf("authorizer called %d times, want %d", calls, tc.calls)
			}
		})
	}
	// SelfOnly itself allows the empty authzid.
	if err := creds.SelfOnly.Authorize(ctx, "alice", ""); err != nil {
		t.Errorf("SelfOnly(alice, \"\") = %v", err)
	}
}

func TestServerAccessors(t *testing.T) {
	tests := []struct {
		name string
		c    *creds.Server
		want []string // mechanism, authcid, authzid, effective
		has  bool
	}{
		{"no authzid", creds.NewPasswordServer("PLAIN", "alice", "", "p"), []string{"PLAIN", "alice", "", "alice"}, false},
		{"authzid", creds.NewPasswordServer("PLAIN", "alice", "bob", "p"), []string{"PLAIN", "alice", "bob", "bob"}, true},
		{"external no authcid", creds.NewExternalServer("EXTERNAL", "", "bob"), []string{"EXTERNAL", "", "bob", "bob"}, true},
		{"external neither", creds.NewExternalServer("EXTERNAL", "", ""), []string{"EXTERNAL", "", "", ""}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := []string{tc.c.Mechanism(), tc.c.Authcid(), tc.c.Authzid(), tc.c.Effective()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mechanism, authcid, authzid, effective (-want +got):\n%s", diff)
			}
			if got := tc.c.HasAuthzid(); got != tc.has {
				t.Errorf("HasAuthzid = %v, want %v", got, tc.has)
			}
		})
	}
	// String holds no secret.
	for _, c := range []*creds.Server{
		creds.NewPasswordServer("PLAIN", "alice", "", "hunter2-secret"),
		creds.NewTokenServer("XOAUTH2", "alice", "", "hunter2-secret"),
	} {
		if s := c.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "alice") {
			t.Errorf("String = %q", s)
		}
	}
	if v := creds.NewVerifiedServer("X", "a", ""); !v.Verified() {
		t.Error("NewVerifiedServer: Verified = false")
	}
	if v := creds.NewPasswordServer("X", "a", "", "p"); v.Verified() {
		t.Error("NewPasswordServer: Verified = true")
	}
}

func TestEmojiPassword(t *testing.T) {
	id := creds.ClearIdentity{Name: "u", Password: "p\U0001F511w"}
	if err := id.Compare("p\U0001F511w"); err != nil {
		t.Errorf("emoji password: %v", err)
	}
	if err := id.Compare("pw"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
}

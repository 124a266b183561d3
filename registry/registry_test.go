package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

var ctx = context.Background()

// fake is a server and client mechanism with a chosen name and
// properties; it ends every exchange at once.
type fake struct {
	name  string
	props mech.Properties
}

func (f fake) Name() string                { return f.name }
func (f fake) Properties() mech.Properties { return f.props }
func (f fake) ServerAttempt(context.Context, *mech.ServerInput) (mech.ServerResult, error) {
	return mech.ServerResult{Principal: creds.NewPrincipal(f.name, "u", "")}, nil
}
func (f fake) ClientAttempt(context.Context, *mech.ClientInput) (mech.ClientResult, error) {
	return mech.ClientResult{Response: []byte{}}, nil
}
func (f fake) ClientFinal(context.Context, *mech.ClientInput, []byte, bool) error { return nil }

// clientOnly and serverSide have one side.
type clientOnly struct {
	name string
}

func (c clientOnly) Name() string                { return c.name }
func (c clientOnly) Properties() mech.Properties { return mech.Properties{} }
func (c clientOnly) ClientAttempt(context.Context, *mech.ClientInput) (mech.ClientResult, error) {
	return mech.ClientResult{}, nil
}
func (c clientOnly) ClientFinal(context.Context, *mech.ClientInput, []byte, bool) error { return nil }

type serverSide struct{ name string }

func (s serverSide) Name() string                { return s.name }
func (s serverSide) Properties() mech.Properties { return mech.Properties{} }
func (s serverSide) ServerAttempt(context.Context, *mech.ServerInput) (mech.ServerResult, error) {
	return mech.ServerResult{}, nil
}

// neither implements neither side.
type neither struct{}

func (neither) Name() string                { return "NEITHER" }
func (neither) Properties() mech.Properties { return mech.Properties{} }

var (
	plusMech = fake{name: "X-PLUS", props: mech.Properties{ChannelBinding: true, Mutual: true, Uses: mech.UsesPassword}}
	anonMech = fake{name: "ANONYMOUS", props: mech.Properties{Anonymous: true}}
)

func mustNew(t testing.TB, cfg *registry.Config, ms ...registry.Mechanism) *registry.Registry {
	t.Helper()
	r, err := registry.New(cfg, ms...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tokens accepts the token "tok" as issued to alice.
var tokens = mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
	if r.Token != "tok" {
		return &mech.TokenError{Status: "invalid_token"}
	}
	r.Subject = "alice"
	return nil
})

// mustStore returns a MemoryStore of accounts.
func mustStore(t testing.TB, accounts ...creds.Account) *creds.MemoryStore {
	t.Helper()
	var m creds.MemoryStore
	for _, a := range accounts {
		if err := m.Add(a); err != nil {
			t.Fatalf("Add(%q): %v", a.Name, err)
		}
	}
	return &m
}

// scramKeys derives keys of password for the hash named h.
func scramKeys(t testing.TB, h, password string, iterations int) creds.SCRAMKeys {
	t.Helper()
	k, err := creds.DeriveSCRAMKeys(h, password, nil, iterations, false)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fullStore holds alice, with the clear password "pw" and SCRAM-SHA-256
// keys of it: every built-in mechanism but SCRAM-SHA-1, -512 and SHA3-512
// can run against it.
func fullStore(t testing.TB) *creds.MemoryStore {
	t.Helper()
	return mustStore(t, creds.Account{Name: "alice", Password: "{PLAIN}pw", SCRAM: []creds.SCRAMKeys{scramKeys(t, "SHA-256", "pw", 4096)}})
}

// hashedStore holds alice with a hashed password only: no clear password
// and no SCRAM keys.
func hashedStore(t testing.TB) *creds.MemoryStore {
	t.Helper()
	pw, err := creds.HashPassword("pw", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return mustStore(t, creds.Account{Name: "alice", Password: pw})
}

// serverConfig is a server registry's Config over fullStore, with the
// token validator.
func serverConfig(t testing.TB, insecure bool) *registry.Config {
	t.Helper()
	return &registry.Config{
		Session:             session.Config{Verifier: &creds.Verifier{Store: fullStore(t)}, Tokens: tokens},
		InsecureClearSecret: insecure,
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"A", true},
		{"a", true},
		{"PLAIN", true},
		{"plain", true},
		{"SCRAM-SHA-256-PLUS", true},
		{"X_Y-9", true},
		{strings.Repeat("A", 20), true},
		{strings.Repeat("A", 21), false},
		{"", false},
		{"PLAIN ", false},
		{"PL AIN", false},
		{"PLAIN.", false},
		{"PLAIN*", false},
		{"PLÄIN", false},
		{"PLAIN\x00", false},
		{"=", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			if got := registry.ValidName(tc.name); got != tc.want {
				t.Errorf("ValidName = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name string
		m    registry.Mechanism
		want error
	}{
		{"valid", fake{name: "X-NEW"}, nil},
		{"20 chars", fake{name: strings.Repeat("X", 20)}, nil},
		{"server only", serverSide{name: "X-SERVER"}, nil},
		{"client only", clientOnly{name: "X-CLIENT"}, nil},
		{"21 chars", fake{name: strings.Repeat("X", 21)}, registry.ErrInvalidName},
		{"empty", fake{name: ""}, registry.ErrInvalidName},
		{"invalid char", fake{name: "X NEW"}, registry.ErrInvalidName},
		// Names are registered in upper case; lookups then ignore case.
		{"lower case", fake{name: "x-lower"}, registry.ErrInvalidName},
		{"mixed case", fake{name: "X-Mixed"}, registry.ErrInvalidName},
		{"duplicate", fake{name: "PLAIN"}, registry.ErrDuplicate},
		{"duplicate builtin", mech.Plain{}, registry.ErrDuplicate},
		{"nil", nil, registry.ErrInvalidName},
		{"neither side", neither{}, registry.ErrInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := registry.Defaults()
			err := r.Register(tc.m)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Register = %v", err)
				}
				if _, ok := r.Lookup(tc.m.Name()); !ok {
					t.Errorf("Lookup(%q) after Register: not found", tc.m.Name())
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Register = %v, want %v", err, tc.want)
			}
			if diff := cmp.Diff([]string{"PLAIN", "LOGIN"}, r.Names()); diff != "" {
				t.Errorf("names after a refused Register (-want +got):\n%s", diff)
			}
		})
	}
	// New reports the first bad mechanism.
	if _, err := registry.New(nil, mech.Plain{}, mech.Plain{}); !errors.Is(err, registry.ErrDuplicate) {
		t.Errorf("New with a duplicate = %v, want ErrDuplicate", err)
	}
}

// TestRegisterUpperCase: a lower-case name is refused with a message that
// says to use upper case, and how.
func TestRegisterUpperCase(t *testing.T) {
	for _, tc := range []struct{ name, upper string }{{"x-lower", "X-LOWER"}, {"X-Mixed", "X-MIXED"}, {"scram-sha-256", "SCRAM-SHA-256"}} {
		err := registry.Defaults().Register(fake{name: tc.name})
		if !errors.Is(err, registry.ErrInvalidName) {
			t.Fatalf("Register(%q) = %v, want ErrInvalidName", tc.name, err)
		}
		for _, want := range []string{"must be upper case", fmt.Sprintf("%q", tc.name), fmt.Sprintf("%q", tc.upper)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Register(%q) = %q, which does not say %s", tc.name, err, want)
			}
		}
	}
	// An invalid name is not repeated: it may be anything.
	err := registry.Defaults().Register(fake{name: "BAD\r\nNAME"})
	if !errors.Is(err, registry.ErrInvalidName) || strings.Contains(err.Error(), "NAME") {
		t.Errorf("Register(invalid) = %v", err)
	}
}

// TestLookupCase: lookups ignore case, for built-in and custom mechanisms
// alike (pysasl matched custom mechanisms case-sensitively).
func TestLookupCase(t *testing.T) {
	r := mustNew(t, serverConfig(t, true), mech.Plain{}, fake{name: "X-CUSTOM_1"})
	tests := []struct {
		query, want string
	}{
		{"PLAIN", "PLAIN"},
		{"plain", "PLAIN"},
		{"PlAiN", "PLAIN"},
		{"X-CUSTOM_1", "X-CUSTOM_1"},
		{"x-custom_1", "X-CUSTOM_1"},
		{"X-Custom_1", "X-CUSTOM_1"},
		{"LOGIN", ""},
		{"", ""},
		{"plain ", ""},
		{"PLAİN", ""}, // dotted capital I: not ASCII
		{strings.Repeat("x", 21), ""},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			m, ok := r.Lookup(tc.query)
			got := ""
			if ok {
				got = m.Name()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Lookup (-want +got):\n%s", diff)
			}
			s, err := r.NewServer(tc.query, mech.Channel{})
			if tc.want == "" {
				if !errors.Is(err, registry.ErrUnknown) || s != nil {
					t.Errorf("NewServer = %v, %v; want ErrUnknown", s, err)
				}
				return
			}
			if err != nil || s.Mechanism() != tc.want {
				t.Errorf("NewServer = %v, %v", s, err)
			}
			if c, err := r.NewClient(tc.query, creds.Client{}, mech.Channel{}); err != nil || c.Mechanism() != tc.want {
				t.Errorf("NewClient = %v, %v", c, err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	r := mustNew(t, nil, fake{name: "B"}, fake{name: "A"}, fake{name: "C"})
	if err := r.Register(fake{name: "AA"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"B", "A", "C", "AA"}, r.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	// The slice is the caller's.
	r.Names()[0] = "Z"
	if got := r.Names()[0]; got != "B" {
		t.Errorf("Names shares its slice: %q", got)
	}
	empty := mustNew(t, nil)
	if got := empty.Names(); len(got) != 0 {
		t.Errorf("empty registry Names = %q", got)
	}
}

var (
	plainCh    = mech.Channel{}
	tlsCh      = mech.Channel{Secure: true}
	bindingCh  = mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("cb")}}}
	externalCh = mech.Channel{Secure: true, External: "CN=alice"}
)

func allMechs() []registry.Mechanism {
	return []registry.Mechanism{plusMech, mech.External{}, mech.CRAMMD5{}, mech.Plain{}, mech.Login{}, mech.XOAuth2{}, mech.OAuthBearer{}, anonMech, clientOnly{name: "X-CLIENT"}}
}

func TestAdvertise(t *testing.T) {
	tests := []struct {
		name     string
		insecure bool
		ch       mech.Channel
		want     []string
	}{
		// Bearer tokens are reusable secrets too: like PLAIN, they need TLS.
		{"plain connection", false, plainCh, []string{"CRAM-MD5", "ANONYMOUS"}},
		{"plain connection, insecure clear secret", true, plainCh, []string{"CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", "ANONYMOUS"}},
		{"TLS", false, tlsCh, []string{"CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", "ANONYMOUS"}},
		{"TLS with bindings", false, bindingCh, []string{"X-PLUS", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", "ANONYMOUS"}},
		{"TLS with client certificate", false, externalCh, []string{"EXTERNAL", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", "ANONYMOUS"}},
		{"bindings without TLS", false, mech.Channel{Bindings: bindingCh.Bindings}, []string{"X-PLUS", "CRAM-MD5", "ANONYMOUS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustNew(t, serverConfig(t, tc.insecure), allMechs()...)
			got := r.Advertise(tc.ch)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Advertise (-want +got):\n%s", diff)
			}
			// NewServer refuses exactly what Advertise hides.
			for _, name := range r.Names() {
				_, err := r.NewServer(name, tc.ch)
				advertised := false
				for _, a := range got {
					advertised = advertised || a == name
				}
				if advertised != (err == nil) {
					t.Errorf("NewServer(%q) = %v, advertised %v", name, err, advertised)
				}
			}
		})
	}
}

func TestServerRefusal(t *testing.T) {
	r := mustNew(t, serverConfig(t, false), allMechs()...)
	tests := []struct {
		name string
		mech string
		ch   mech.Channel
		want error
	}{
		{"PLAIN in the clear", "PLAIN", plainCh, registry.ErrEncryptionRequired},
		{"LOGIN in the clear", "login", plainCh, registry.ErrEncryptionRequired},
		{"XOAUTH2 in the clear", "XOAUTH2", plainCh, registry.ErrEncryptionRequired},
		{"OAUTHBEARER in the clear", "oauthbearer", plainCh, registry.ErrEncryptionRequired},
		{"OAUTHBEARER in the clear with bindings", "OAUTHBEARER", mech.Channel{Bindings: bindingCh.Bindings}, registry.ErrEncryptionRequired},
		{"CRAM-MD5 in the clear", "CRAM-MD5", plainCh, nil},
		{"PLAIN over TLS", "PLAIN", tlsCh, nil},
		{"XOAUTH2 over TLS", "XOAUTH2", tlsCh, nil},
		{"OAUTHBEARER over TLS", "OAUTHBEARER", tlsCh, nil},
		{"EXTERNAL without identity", "EXTERNAL", tlsCh, registry.ErrNotOffered},
		{"EXTERNAL with identity", "external", externalCh, nil},
		{"channel binding without bindings", "X-PLUS", tlsCh, registry.ErrNotOffered},
		{"channel binding with bindings", "x-plus", bindingCh, nil},
		{"unknown", "SCRAM-SHA-1", tlsCh, registry.ErrUnknown},
		{"invalid name", "PLAIN!", tlsCh, registry.ErrUnknown},
		{"client only", "X-CLIENT", tlsCh, registry.ErrUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := r.NewServer(tc.mech, tc.ch)
			if tc.want == nil {
				if err != nil || s == nil {
					t.Fatalf("NewServer = %v, %v", s, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || s != nil {
				t.Errorf("NewServer = %v, %v; want %v", s, err, tc.want)
			}
			if tc.want == registry.ErrEncryptionRequired && !strings.Contains(err.Error(), strings.ToUpper(tc.mech)) {
				t.Errorf("error %q does not name %s", err, strings.ToUpper(tc.mech))
			}
		})
	}
	// The client side applies the same rules.
	for _, name := range []string{"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"} {
		if _, err := r.NewClient(name, creds.Client{Authcid: "u", Password: "p", Token: "t"}, plainCh); !errors.Is(err, registry.ErrEncryptionRequired) {
			t.Errorf("NewClient(%s) in the clear = %v, want ErrEncryptionRequired", name, err)
		}
	}
	srvOnly := mustNew(t, nil, serverSide{name: "X-SERVER"})
	if _, err := srvOnly.NewClient("X-SERVER", creds.Client{}, tlsCh); !errors.Is(err, registry.ErrUnknown) {
		t.Errorf("NewClient of a server-only mechanism = %v, want ErrUnknown", err)
	}
}

// TestNewServerUnknown: the error for a mechanism the registry lacks
// repeats a valid name, in upper case, and never an invalid one, which may
// be anything a client sent.
func TestNewServerUnknown(t *testing.T) {
	r := mustNew(t, serverConfig(t, false), mech.Plain{}, clientOnly{name: "X-CLIENT"}, serverSide{name: "X-SERVER"})
	tests := []struct {
		name     string
		says     string // "" for an invalid name
		wantText string
	}{
		{"SCRAM-SHA-256", "SCRAM-SHA-256", ""},
		{"scram-sha-256", "SCRAM-SHA-256", ""},
		{"GSSAPI", "GSSAPI", ""},
		{"X-CLIENT", "X-CLIENT", "no server side"},
		{"PLAIN!", "", ""},
		{"PLAIN\r\nA1 OK", "", ""},
		{"<script>", "", ""},
		{strings.Repeat("Q", 21), "", ""},
		{"", "", ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			s, err := r.NewServer(tc.name, tlsCh)
			if !errors.Is(err, registry.ErrUnknown) || s != nil {
				t.Fatalf("NewServer = %v, %v; want ErrUnknown", s, err)
			}
			text := err.Error()
			if tc.says != "" && !strings.Contains(text, tc.says) {
				t.Errorf("error %q does not name %s", text, tc.says)
			}
			if tc.says == "" && tc.name != "" && strings.Contains(text, tc.name) {
				t.Errorf("error %q repeats the invalid name", text)
			}
			if tc.says == "" && strings.ContainsAny(text, "\r\n<!") {
				t.Errorf("error %q holds characters of the invalid name", text)
			}
			if !strings.Contains(text, tc.wantText) {
				t.Errorf("error %q does not say %q", text, tc.wantText)
			}
			if tc.name == "X-CLIENT" {
				return
			}
			_, cerr := r.NewClient(tc.name, creds.Client{}, tlsCh)
			if !errors.Is(cerr, registry.ErrUnknown) || cerr.Error() != text {
				t.Errorf("NewClient = %v, want the same error as NewServer, %q", cerr, text)
			}
		})
	}
}

// TestServerSessionConfig: sessions get the registry's session Config.
func TestServerSessionConfig(t *testing.T) {
	cfg := serverConfig(t, false)
	cfg.Session.Authorizer = creds.AuthorizerFunc(func(_ context.Context, account, authzid string) error {
		if account == "alice" && authzid == "bob" {
			return nil
		}
		return creds.ErrUnauthorized
	})
	r := mustNew(t, cfg, mech.Plain{})
	s, err := r.NewServer("PLAIN", tlsCh)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.StartInitial(ctx, []byte("\x00alice\x00wrong"))
	if !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("wrong password through a registry session: %v, want ErrBadCredentials", err)
	}
	s, _ = r.NewServer("PLAIN", tlsCh)
	step, err := s.StartInitial(ctx, []byte("bob\x00ａｌｉｃｅ\x00pw"))
	if err != nil || !step.Done || step.Principal.Account() != "alice" || step.Principal.Effective() != "bob" {
		t.Errorf("right password through a registry session: %+v, %v; want alice acting as bob", step, err)
	}
	// Changing the caller's Config afterwards changes nothing.
	cfg.Session.Verifier = nil
	cfg.Session.Authorizer = nil
	s, err = r.NewServer("PLAIN", tlsCh)
	if err != nil {
		t.Fatalf("after changing the caller's Config: NewServer = %v", err)
	}
	if _, err := s.StartInitial(ctx, []byte("\x00alice\x00wrong")); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("after changing the caller's Config: %v, want ErrBadCredentials", err)
	}
	s, _ = r.NewServer("PLAIN", tlsCh)
	if step, err := s.StartInitial(ctx, []byte("bob\x00alice\x00pw")); err != nil || step.Principal.Effective() != "bob" {
		t.Errorf("after changing the caller's Config: %+v, %v; want alice acting as bob", step, err)
	}
}

// Reasons of Select's SelectError.
const (
	needsTLS      = "sends a reusable secret and needs TLS"
	needsBinding  = "needs channel binding"
	needsExternal = "needs an identity from the transport"
	notAnonymous  = "is for clients without credentials"
	needsPassword = "needs a user name and a password"
	needsToken    = "needs a token"
)

func TestSelect(t *testing.T) {
	password := creds.Client{Authcid: "alice", Password: "pw"}
	token := creds.Client{Authcid: "alice", Token: "tok"}
	both := creds.Client{Authcid: "alice", Password: "pw", Token: "tok"}
	nobody := creds.Client{}
	authzOnly := creds.Client{Authzid: "bob"}
	all := []string{"ANONYMOUS", "OAUTHBEARER", "XOAUTH2", "LOGIN", "PLAIN", "CRAM-MD5", "EXTERNAL", "X-PLUS"}
	type skip = registry.Skipped
	tests := []struct {
		name       string
		insecure   bool
		advertised []string
		c          creds.Client
		ch         mech.Channel
		want       string
		skipped    []registry.Skipped // when want is ""
	}{
		{name: "preference, not server order", advertised: all, c: password, ch: tlsCh, want: "CRAM-MD5"},
		{name: "channel binding first", advertised: all, c: password, ch: bindingCh, want: "X-PLUS"},
		{name: "external identity", advertised: all, c: password, ch: externalCh, want: "EXTERNAL"},
		{name: "lower-case advertisement", advertised: []string{"plain", "login"}, c: password, ch: tlsCh, want: "PLAIN"},
		{name: "mixed-case advertisement", advertised: []string{"Cram-Md5"}, c: password, ch: plainCh, want: "CRAM-MD5"},
		{name: "clear secret hidden in the clear", advertised: []string{"PLAIN", "LOGIN"}, c: password, ch: plainCh,
			skipped: []skip{{"PLAIN", needsTLS}, {"LOGIN", needsTLS}}},
		{name: "clear secret allowed in the clear", insecure: true, advertised: []string{"LOGIN", "PLAIN"}, c: password, ch: plainCh, want: "PLAIN"},
		{name: "token skips password mechs", advertised: all, c: token, ch: tlsCh, want: "XOAUTH2"},
		{name: "token prefers the registry order", advertised: []string{"OAUTHBEARER", "XOAUTH2"}, c: token, ch: tlsCh, want: "XOAUTH2"},
		{name: "token mechs hidden in the clear", advertised: []string{"OAUTHBEARER", "XOAUTH2"}, c: token, ch: plainCh,
			skipped: []skip{{"XOAUTH2", needsTLS}, {"OAUTHBEARER", needsTLS}}},
		{name: "token mechs hidden in the clear, with bindings", advertised: []string{"OAUTHBEARER"}, c: token, ch: mech.Channel{Bindings: bindingCh.Bindings},
			skipped: []skip{{"OAUTHBEARER", needsTLS}}},
		{name: "token mechs allowed in the clear", insecure: true, advertised: []string{"OAUTHBEARER", "XOAUTH2"}, c: token, ch: plainCh, want: "XOAUTH2"},
		{name: "token in the clear, everything advertised", advertised: all, c: token, ch: plainCh,
			skipped: []skip{{"X-PLUS", needsBinding}, {"EXTERNAL", needsExternal}, {"CRAM-MD5", needsPassword}, {"PLAIN", needsTLS},
				{"LOGIN", needsTLS}, {"XOAUTH2", needsTLS}, {"OAUTHBEARER", needsTLS}, {"ANONYMOUS", notAnonymous}}},
		{name: "password skips token mechs", advertised: []string{"XOAUTH2", "PLAIN"}, c: password, ch: tlsCh, want: "PLAIN"},
		{name: "password only token mechs", advertised: []string{"OAUTHBEARER", "XOAUTH2"}, c: password, ch: tlsCh,
			skipped: []skip{{"XOAUTH2", needsToken}, {"OAUTHBEARER", needsToken}}},
		{name: "both prefers the registry order", advertised: []string{"XOAUTH2", "PLAIN"}, c: both, ch: tlsCh, want: "PLAIN"},
		{name: "password without user", advertised: []string{"PLAIN"}, c: creds.Client{Password: "pw"}, ch: tlsCh,
			skipped: []skip{{"PLAIN", needsPassword}}},
		{name: "no anonymous with a password", advertised: []string{"ANONYMOUS", "LOGIN"}, c: password, ch: plainCh,
			skipped: []skip{{"LOGIN", needsTLS}, {"ANONYMOUS", notAnonymous}}},
		{name: "no anonymous with a token", advertised: []string{"ANONYMOUS"}, c: token, ch: plainCh,
			skipped: []skip{{"ANONYMOUS", notAnonymous}}},
		{name: "no anonymous with only a user", advertised: []string{"ANONYMOUS"}, c: creds.Client{Authcid: "alice"}, ch: plainCh,
			skipped: []skip{{"ANONYMOUS", notAnonymous}}},
		{name: "anonymous without credentials", advertised: all, c: nobody, ch: tlsCh, want: "ANONYMOUS"},
		{name: "anonymous with only an authzid", advertised: []string{"ANONYMOUS"}, c: authzOnly, ch: tlsCh, want: "ANONYMOUS"},
		{name: "nothing advertised", advertised: nil, c: password, ch: tlsCh},
		{name: "unknown names", advertised: []string{"SCRAM-SHA-1", "GSSAPI", "not valid!"}, c: password, ch: tlsCh},
		{name: "server-only mech", advertised: []string{"X-SERVER"}, c: nobody, ch: tlsCh},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := append(allMechs(), serverSide{name: "X-SERVER"})
			r := mustNew(t, &registry.Config{InsecureClearSecret: tc.insecure}, ms...)
			got, err := r.Select(tc.advertised, tc.c, tc.ch)
			if tc.want == "" {
				var se *registry.SelectError
				if !errors.Is(err, registry.ErrNoMechanism) || !errors.As(err, &se) || got != "" {
					t.Fatalf("Select = %q, %v; want a *SelectError wrapping ErrNoMechanism", got, err)
				}
				if diff := cmp.Diff(tc.skipped, se.Skipped); diff != "" {
					t.Errorf("Skipped (-want +got):\n%s", diff)
				}
				for _, s := range tc.skipped {
					if !strings.Contains(err.Error(), s.Mechanism+" "+s.Reason) {
						t.Errorf("error %q does not say %s %s", err, s.Mechanism, s.Reason)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Select (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectErrorText(t *testing.T) {
	tests := []struct {
		skipped []registry.Skipped
		want    string
	}{
		{nil, "saslkit/registry: no usable mechanism: the server advertised none of this registry's mechanisms"},
		{[]registry.Skipped{{"PLAIN", needsTLS}}, "saslkit/registry: no usable mechanism: PLAIN sends a reusable secret and needs TLS"},
		{[]registry.Skipped{{"SCRAM-SHA-256-PLUS", needsBinding}, {"XOAUTH2", needsToken}},
			"saslkit/registry: no usable mechanism: SCRAM-SHA-256-PLUS needs channel binding; XOAUTH2 needs a token"},
	}
	for _, tc := range tests {
		err := error(&registry.SelectError{Skipped: tc.skipped})
		if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
			t.Errorf("Error (-want +got):\n%s", diff)
		}
		if !errors.Is(err, registry.ErrNoMechanism) {
			t.Errorf("%v does not wrap ErrNoMechanism", err)
		}
	}
}

func TestDefaults(t *testing.T) {
	r := registry.Defaults()
	if diff := cmp.Diff([]string{"PLAIN", "LOGIN"}, r.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	// A client registry: it runs clients, and no server, since it has no
	// store to check a password against; so it advertises nothing.
	for _, ch := range []mech.Channel{plainCh, tlsCh} {
		if got := r.Advertise(ch); len(got) != 0 {
			t.Errorf("Advertise(%+v) = %q, want nothing", ch, got)
		}
	}
	if got, err := r.Select([]string{"PLAIN", "LOGIN"}, creds.Client{Authcid: "u", Password: "p"}, tlsCh); err != nil || got != "PLAIN" {
		t.Errorf("Select over TLS = %q, %v; want PLAIN", got, err)
	}
	// The same registry with a Verifier advertises PLAIN and LOGIN, only
	// over TLS.
	srv, err := registry.Named(&registry.Config{Session: session.Config{Verifier: &creds.Verifier{Store: fullStore(t)}}}, "PLAIN", "LOGIN")
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Advertise(plainCh); len(got) != 0 {
		t.Errorf("server: Advertise in the clear = %q, want nothing", got)
	}
	if diff := cmp.Diff([]string{"PLAIN", "LOGIN"}, srv.Advertise(tlsCh)); diff != "" {
		t.Errorf("server: Advertise over TLS (-want +got):\n%s", diff)
	}
	for _, name := range []string{"PLAIN", "LOGIN"} {
		if c, err := r.NewClient(name, creds.Client{Authcid: "u", Password: "p"}, tlsCh); err != nil || c == nil {
			t.Errorf("NewClient(%s) = %v, %v", name, c, err)
		}
		s, err := r.NewServer(name, tlsCh)
		if !errors.Is(err, creds.ErrMisconfigured) || s != nil {
			t.Errorf("NewServer(%s) over TLS = %v, %v; want ErrMisconfigured", name, s, err)
		}
	}
	// Two calls give independent registries.
	if err := r.Register(fake{name: "X-MORE"}); err != nil {
		t.Fatal(err)
	}
	if got := registry.Defaults().Names(); len(got) != 2 {
		t.Errorf("Defaults shares state: %q", got)
	}
}

// TestNoOpenDoor: a registry without a Verifier and token validator
// refuses a server session for every built-in mechanism that checks a
// secret, on a channel that would otherwise allow it, so that nothing
// completes without verification.
func TestNoOpenDoor(t *testing.T) {
	open := mech.Channel{Secure: true, Bindings: bindingCh.Bindings, External: "CN=alice"}
	for _, cfg := range []*registry.Config{nil, {}, {InsecureClearSecret: true}} {
		r, err := registry.Named(cfg, registry.BuiltinNames()...)
		if err != nil {
			t.Fatal(err)
		}
		// Nothing it cannot run is advertised either.
		if diff := cmp.Diff([]string{"EXTERNAL", "ANONYMOUS"}, r.Advertise(open)); diff != "" {
			t.Errorf("Advertise (-want +got):\n%s", diff)
		}
		for _, name := range registry.BuiltinNames() {
			s, err := r.NewServer(name, open)
			switch name {
			case "EXTERNAL", "ANONYMOUS":
				// The transport vouches, or nobody is claimed.
				if err != nil {
					t.Errorf("NewServer(%s) = %v", name, err)
				}
			default:
				if !errors.Is(err, creds.ErrMisconfigured) || s != nil {
					t.Errorf("NewServer(%s) without a Verifier = %v, %v; want ErrMisconfigured", name, s, err)
				} else if !strings.Contains(err.Error(), name) {
					t.Errorf("NewServer(%s): error %q does not name it", name, err)
				}
			}
		}
	}
}

// TestNamedChecksConfig: a server registry (one with a Verifier or token
// validator) is refused when one of its mechanisms cannot run with them,
// with an error naming the mechanism.
func TestNamedChecksConfig(t *testing.T) {
	full := &creds.Verifier{Store: fullStore(t)}
	hashed := &creds.Verifier{Store: hashedStore(t)}
	sha1 := &creds.Verifier{Store: mustStore(t, creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{scramKeys(t, "SHA-1", "pw", 4096)}})}
	tests := []struct {
		name     string
		cfg      session.Config
		mechs    []string
		mentions string // the mechanism the error names; "" for success
	}{
		{"SCRAM-SHA-256 without SCRAM keys", session.Config{Verifier: hashed, Tokens: tokens}, []string{"PLAIN", "SCRAM-SHA-256"}, "SCRAM-SHA-256"},
		{"SCRAM-SHA-256-PLUS without SCRAM keys", session.Config{Verifier: hashed}, []string{"SCRAM-SHA-256-PLUS"}, "SCRAM-SHA-256-PLUS"},
		{"SCRAM-SHA-256 with SHA-1 keys only", session.Config{Verifier: sha1}, []string{"SCRAM-SHA-1", "SCRAM-SHA-256"}, "SCRAM-SHA-256"},
		{"SCRAM-SHA-512 with SHA-256 keys only", session.Config{Verifier: full}, []string{"SCRAM-SHA-256", "SCRAM-SHA-512"}, "SCRAM-SHA-512"},
		{"SCRAM-SHA-1 with SHA-1 keys", session.Config{Verifier: sha1}, []string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"}, ""},
		{"CRAM-MD5 without clear passwords", session.Config{Verifier: hashed}, []string{"PLAIN", "CRAM-MD5"}, "CRAM-MD5"},
		{"CRAM-MD5 over SCRAM keys only", session.Config{Verifier: sha1}, []string{"CRAM-MD5"}, "CRAM-MD5"},
		{"CRAM-MD5 with clear passwords", session.Config{Verifier: full}, []string{"CRAM-MD5"}, ""},
		{"OAUTHBEARER without Tokens", session.Config{Verifier: full}, []string{"PLAIN", "OAUTHBEARER"}, "OAUTHBEARER"},
		{"XOAUTH2 without Tokens", session.Config{Verifier: full}, []string{"XOAUTH2"}, "XOAUTH2"},
		{"PLAIN with Tokens only", session.Config{Tokens: tokens}, []string{"OAUTHBEARER", "PLAIN"}, "PLAIN"},
		{"LOGIN with a Verifier without a Store", session.Config{Verifier: &creds.Verifier{}}, []string{"LOGIN"}, "LOGIN"},
		{"tokens only", session.Config{Tokens: tokens}, []string{"OAUTHBEARER", "XOAUTH2", "EXTERNAL", "ANONYMOUS"}, ""},
		{"everything the store can serve", session.Config{Verifier: full, Tokens: tokens},
			[]string{"EXTERNAL", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN", "ANONYMOUS"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &registry.Config{Session: tc.cfg}
			r, err := registry.Named(cfg, tc.mechs...)
			if tc.mentions == "" {
				if err != nil || r == nil {
					t.Fatalf("Named = %v, %v", r, err)
				}
				return
			}
			if !errors.Is(err, creds.ErrMisconfigured) || r != nil {
				t.Fatalf("Named = %v, %v; want ErrMisconfigured", r, err)
			}
			if !strings.Contains(err.Error(), tc.mentions) {
				t.Errorf("error %q does not name %s", err, tc.mentions)
			}
			// A client registry (no Verifier, no Tokens) of the same
			// mechanisms is fine: it is not checked until NewServer.
			if _, err := registry.Named(nil, tc.mechs...); err != nil {
				t.Errorf("client registry: Named = %v", err)
			}
		})
	}

	// New makes the same checks, for built-in mechanisms as values.
	cfg := &registry.Config{Session: session.Config{Verifier: full}}
	if _, err := registry.New(cfg, mech.Plain{}, mech.OAuthBearer{}); !errors.Is(err, creds.ErrMisconfigured) || !strings.Contains(err.Error(), "OAUTHBEARER") {
		t.Errorf("New(OAUTHBEARER) with a Verifier and no Tokens = %v, want ErrMisconfigured naming OAUTHBEARER", err)
	}
	if _, err := registry.New(cfg, scram.Mechanism{Hash: scram.SHA512}); !errors.Is(err, creds.ErrMisconfigured) || !strings.Contains(err.Error(), "SCRAM-SHA-512") {
		t.Errorf("New(SCRAM-SHA-512) over SHA-256 keys = %v, want ErrMisconfigured naming SCRAM-SHA-512", err)
	}
	// Custom mechanisms without CheckConfig, and client-only ones, pass.
	if _, err := registry.New(cfg, mech.Plain{}, fake{name: "X-FAKE"}, clientOnly{name: "X-CLIENT"}); err != nil {
		t.Errorf("New with custom mechanisms = %v", err)
	}
}

// TestTokenMechanismsNeedTLS: OAUTHBEARER and XOAUTH2 send a bearer
// token, a reusable secret: they are not advertised, not run and not
// selected on a channel without TLS, unless InsecureClearSecret says so.
func TestTokenMechanismsNeedTLS(t *testing.T) {
	names := []string{"XOAUTH2", "OAUTHBEARER"}
	token := creds.Client{Authcid: "alice", Token: "tok"}
	for _, insecure := range []bool{false, true} {
		t.Run(fmt.Sprintf("InsecureClearSecret %v", insecure), func(t *testing.T) {
			r, err := registry.Named(serverConfig(t, insecure), names...)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if insecure {
				want = names
			}
			if diff := cmp.Diff(want, r.Advertise(plainCh)); diff != "" {
				t.Errorf("Advertise in the clear (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(names, r.Advertise(tlsCh)); diff != "" {
				t.Errorf("Advertise over TLS (-want +got):\n%s", diff)
			}
			for _, name := range names {
				s, err := r.NewServer(name, plainCh)
				if !insecure {
					if !errors.Is(err, registry.ErrEncryptionRequired) || s != nil {
						t.Errorf("NewServer(%s) in the clear = %v, %v; want ErrEncryptionRequired", name, s, err)
					}
					if _, err := r.NewClient(name, token, plainCh); !errors.Is(err, registry.ErrEncryptionRequired) {
						t.Errorf("NewClient(%s) in the clear = %v, want ErrEncryptionRequired", name, err)
					}
				} else if err != nil {
					t.Errorf("NewServer(%s) in the clear, allowed = %v", name, err)
				}
			}
			got, err := r.Select([]string{"oauthbearer", "xoauth2"}, token, plainCh)
			if insecure {
				if err != nil || got != "XOAUTH2" {
					t.Errorf("Select in the clear, allowed = %q, %v; want XOAUTH2", got, err)
				}
			} else {
				var se *registry.SelectError
				if !errors.As(err, &se) || !errors.Is(err, registry.ErrNoMechanism) || got != "" {
					t.Fatalf("Select in the clear = %q, %v; want a *SelectError", got, err)
				}
				if diff := cmp.Diff([]registry.Skipped{{"XOAUTH2", needsTLS}, {"OAUTHBEARER", needsTLS}}, se.Skipped); diff != "" {
					t.Errorf("Skipped (-want +got):\n%s", diff)
				}
			}
			if got, err := r.Select([]string{"oauthbearer", "xoauth2"}, token, tlsCh); err != nil || got != "XOAUTH2" {
				t.Errorf("Select over TLS = %q, %v; want XOAUTH2", got, err)
			}
			// Over TLS a token logs in, as the validator's subject.
			s, err := r.NewServer("XOAUTH2", tlsCh)
			if err != nil {
				t.Fatal(err)
			}
			step, err := s.StartInitial(ctx, []byte("user=alice\x01auth=Bearer tok\x01\x01"))
			if err != nil || !step.Done || step.Principal.Account() != "alice" {
				t.Errorf("XOAUTH2 over TLS: %+v, %v; want Done as alice", step, err)
			}
		})
	}
}

func TestNamedAndBuiltin(t *testing.T) {
	r, err := registry.Named(nil, registry.BuiltinNames()...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(registry.BuiltinNames(), r.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	for _, name := range registry.BuiltinNames() {
		for _, q := range []string{name, strings.ToLower(name)} {
			m, ok := registry.Builtin(q)
			if !ok || m.Name() != name {
				t.Errorf("Builtin(%q) = %v, %v", q, m, ok)
			}
		}
	}
	if r, err := registry.Named(nil, "cram-md5", "plain"); err != nil || !cmp.Equal(r.Names(), []string{"CRAM-MD5", "PLAIN"}) {
		t.Errorf("Named(lower case) = %v, %v", r, err)
	}
	for _, bad := range []string{"GSSAPI", "", "NOT VALID"} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			_, err := registry.Named(nil, "PLAIN", bad)
			if !errors.Is(err, registry.ErrUnknown) {
				t.Fatalf("Named = %v, want ErrUnknown", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
				t.Errorf("error %q does not name %q", err, bad)
			}
		})
	}
	if _, err := registry.Named(nil, "PLAIN", "plain"); !errors.Is(err, registry.ErrDuplicate) {
		t.Errorf("Named with a duplicate = %v, want ErrDuplicate", err)
	}
	if _, ok := registry.Builtin("GSSAPI"); ok {
		t.Error("Builtin(GSSAPI) found")
	}
}

// TestConcurrent registers mechanisms while other goroutines look them up,
// advertise, select and run sessions. Run it with -race.
func TestConcurrent(t *testing.T) {
	r := mustNew(t, serverConfig(t, true), mech.Plain{}, mech.Login{})
	var wg sync.WaitGroup
	const n = 8
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 20 {
				name := fmt.Sprintf("X-%d-%d", i, j)
				if err := r.Register(fake{name: name}); err != nil {
					t.Errorf("Register(%s): %v", name, err)
				}
				if _, ok := r.Lookup(strings.ToLower(name)); !ok {
					t.Errorf("Lookup(%s) after Register: not found", name)
				}
				// Everyone races to register the same name: one wins.
				_ = r.Register(fake{name: fmt.Sprintf("X-SHARED-%d", j)})
			}
		}()
		go func() {
			defer wg.Done()
			for range 20 {
				_ = r.Advertise(tlsCh)
				_ = r.Names()
				if got, err := r.Select([]string{"plain"}, creds.Client{Authcid: "u", Password: "p"}, tlsCh); err != nil || got != "PLAIN" {
					t.Errorf("Select = %q, %v", got, err)
				}
				s, err := r.NewServer("plain", plainCh)
				if err != nil {
					t.Errorf("NewServer: %v", err)
					continue
				}
				step, err := s.StartInitial(ctx, []byte("\x00alice\x00pw"))
				if err != nil || !step.Done || step.Principal.Account() != "alice" {
					t.Errorf("session: %+v, %v", step, err)
				}
			}
		}()
	}
	wg.Wait()
	if got, want := len(r.Names()), 2+n*20+20; got != want {
		t.Errorf("%d names registered, want %d", got, want)
	}
}

// TestServerStripsBindings: without a -PLUS mechanism, a SCRAM server
// accepts a binding-capable client's "y" on a TLS channel.
func TestServerStripsBindings(t *testing.T) {
	store := mustStore(t,
		creds.Account{Name: "user", SCRAM: []creds.SCRAMKeys{scramKeys(t, "SHA-256", "pencil", 8192)}},
		creds.Account{Name: "other", SCRAM: []creds.SCRAMKeys{scramKeys(t, "SHA-256", "other", 8192)}})
	cfg := &registry.Config{Session: session.Config{Verifier: &creds.Verifier{Store: store}}}
	ch := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: mech.TLSExporter, Data: []byte("ekm")}}}
	for _, tc := range []struct {
		names []string
		ok    bool
	}{{[]string{"SCRAM-SHA-256"}, true}, {[]string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}, false}} {
		r, err := registry.Named(cfg, tc.names...)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := r.NewServer("SCRAM-SHA-256", ch)
		if err != nil {
			t.Fatal(err)
		}
		_, err = srv.StartInitial(ctx, []byte("y,,n=user,r=abc"))
		if (err == nil) != tc.ok {
			t.Errorf("%v: y flag: %v", tc.names, err)
		}
		if err == nil {
			// Unknown users get the iteration count of the store's keys.
			srv, _ := r.NewServer("SCRAM-SHA-256", ch)
			step, _ := srv.StartInitial(ctx, []byte("n,,n=nobody,r=abc"))
			if !strings.HasSuffix(string(step.Challenge), ",i=8192") {
				t.Errorf("mock iterations: %q", step.Challenge)
			}
		}
	}
}

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
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
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
	return mech.ServerResult{Creds: creds.NewVerifiedServer(f.name, "u", "")}, nil
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
			if diff := cmp.Diff(registry.DefaultNames, r.Names()); diff != "" {
				t.Errorf("names after a refused Register (-want +got):\n%s", diff)
			}
		})
	}
	// New reports the first bad mechanism.
	if _, err := registry.New(nil, mech.Plain{}, mech.Plain{}); !errors.Is(err, registry.ErrDuplicate) {
		t.Errorf("New with a duplicate = %v, want ErrDuplicate", err)
	}
}

// TestLookupCase: lookups ignore case, for built-in and custom mechanisms
// alike (pysasl matched custom mechanisms case-sensitively).
func TestLookupCase(t *testing.T) {
	r := mustNew(t, &registry.Config{InsecureClearSecret: true}, mech.Plain{}, fake{name: "X-CUSTOM_1"})
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
			s, err := r.Server(tc.query, mech.Channel{})
			if tc.want == "" {
				if !errors.Is(err, registry.ErrUnknown) || s != nil {
					t.Errorf("Server = %v, %v; want ErrUnknown", s, err)
				}
				return
			}
			if err != nil || s.Mechanism() != tc.want {
				t.Errorf("Server = %v, %v", s, err)
			}
			if c, err := r.Client(tc.query, creds.Client{}, mech.Channel{}); err != nil || c.Mechanism() != tc.want {
				t.Errorf("Client = %v, %v", c, err)
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
	return []registry.Mechanism{plusMech, mech.External{}, mech.CRAMMD5{}, mech.Plain{}, mech.Login{}, mech.XOAuth2{}, anonMech, clientOnly{name: "X-CLIENT"}}
}

func TestAdvertise(t *testing.T) {
	tests := []struct {
		name     string
		insecure bool
		ch       mech.Channel
		want     []string
	}{
		{"plain connection", false, plainCh, []string{"CRAM-MD5", "XOAUTH2", "ANONYMOUS"}},
		{"plain connection, insecure clear secret", true, plainCh, []string{"CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "ANONYMOUS"}},
		{"TLS", false, tlsCh, []string{"CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "ANONYMOUS"}},
		{"TLS with bindings", false, bindingCh, []string{"X-PLUS", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "ANONYMOUS"}},
		{"TLS with client certificate", false, externalCh, []string{"EXTERNAL", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "ANONYMOUS"}},
		{"bindings without TLS", false, mech.Channel{Bindings: bindingCh.Bindings}, []string{"X-PLUS", "CRAM-MD5", "XOAUTH2", "ANONYMOUS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustNew(t, &registry.Config{InsecureClearSecret: tc.insecure}, allMechs()...)
			got := r.Advertise(tc.ch)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Advertise (-want +got):\n%s", diff)
			}
			// Server refuses exactly what Advertise hides.
			for _, name := range r.Names() {
				_, err := r.Server(name, tc.ch)
				advertised := false
				for _, a := range got {
					advertised = advertised || a == name
				}
				if advertised != (err == nil) {
					t.Errorf("Server(%q) = %v, advertised %v", name, err, advertised)
				}
			}
		})
	}
}

func TestServerRefusal(t *testing.T) {
	r := mustNew(t, nil, allMechs()...)
	tests := []struct {
		name string
		mech string
		ch   mech.Channel
		want error
	}{
		{"PLAIN in the clear", "PLAIN", plainCh, registry.ErrEncryptionRequired},
		{"LOGIN in the clear", "login", plainCh, registry.ErrEncryptionRequired},
		{"PLAIN over TLS", "PLAIN", tlsCh, nil},
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
			s, err := r.Server(tc.mech, tc.ch)
			if tc.want == nil {
				if err != nil || s == nil {
					t.Fatalf("Server = %v, %v", s, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || s != nil {
				t.Errorf("Server = %v, %v; want %v", s, err, tc.want)
			}
		})
	}
	// The client side applies the same rules.
	if _, err := r.Client("PLAIN", creds.Client{Authcid: "u", Password: "p"}, plainCh); !errors.Is(err, registry.ErrEncryptionRequired) {
		t.Errorf("Client(PLAIN) in the clear = %v, want ErrEncryptionRequired", err)
	}
	srvOnly := mustNew(t, nil, serverSide{name: "X-SERVER"})
	if _, err := srvOnly.Client("X-SERVER", creds.Client{}, tlsCh); !errors.Is(err, registry.ErrUnknown) {
		t.Errorf("Client of a server-only mechanism = %v, want ErrUnknown", err)
	}
}

// TestServerSessionConfig: sessions get the registry's session Config.
func TestServerSessionConfig(t *testing.T) {
	store := &creds.MapStore{}
	store.Add(creds.ClearIdentity{Name: "alice", Password: "pw"})
	cfg := &registry.Config{}
	cfg.Session.Identities = store
	r := mustNew(t, cfg, mech.Plain{})
	s, err := r.Server("PLAIN", tlsCh)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.StartInitial(ctx, []byte("\x00alice\x00wrong"))
	if !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("wrong password through a registry session: %v, want ErrBadCredentials", err)
	}
	// Changing the caller's Config afterwards changes nothing.
	cfg.Session.Identities = nil
	s, _ = r.Server("PLAIN", tlsCh)
	if _, err := s.StartInitial(ctx, []byte("\x00alice\x00wrong")); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("after changing the caller's Config: %v, want ErrBadCredentials", err)
	}
}

func TestSelect(t *testing.T) {
	password := creds.Client{Authcid: "alice", Password: "pw"}
	token := creds.Client{Authcid: "alice", Token: "tok"}
	both := creds.Client{Authcid: "alice", Password: "pw", Token: "tok"}
	nobody := creds.Client{}
	authzOnly := creds.Client{Authzid: "bob"}
	all := []string{"ANONYMOUS", "XOAUTH2", "LOGIN", "PLAIN", "CRAM-MD5", "EXTERNAL", "X-PLUS"}
	tests := []struct {
		name       string
		insecure   bool
		advertised []string
		c          creds.Client
		ch         mech.Channel
		want       string
	}{
		{"preference, not server order", false, all, password, tlsCh, "CRAM-MD5"},
		{"channel binding first", false, all, password, bindingCh, "X-PLUS"},
		{"external identity", false, all, password, externalCh, "EXTERNAL"},
		{"lower-case advertisement", false, []string{"plain", "login"}, password, tlsCh, "PLAIN"},
		{"mixed-case advertisement", false, []string{"Cram-Md5"}, password, plainCh, "CRAM-MD5"},
		{"clear secret hidden in the clear", false, []string{"PLAIN", "LOGIN"}, password, plainCh, ""},
		{"clear secret allowed in the clear", true, []string{"LOGIN", "PLAIN"}, password, plainCh, "PLAIN"},
		{"token skips password mechs", false, all, token, tlsCh, "XOAUTH2"},
		{"password skips token mechs", false, []string{"XOAUTH2", "PLAIN"}, password, tlsCh, "PLAIN"},
		{"both prefers the registry order", false, []string{"XOAUTH2", "PLAIN"}, both, tlsCh, "PLAIN"},
		{"password without user", false, []string{"PLAIN"}, creds.Client{Password: "pw"}, tlsCh, ""},
		{"no anonymous with a password", false, []string{"ANONYMOUS", "LOGIN"}, password, plainCh, ""},
		{"no anonymous with a token", false, []string{"ANONYMOUS"}, token, plainCh, ""},
		{"no anonymous with only a user", false, []string{"ANONYMOUS"}, creds.Client{Authcid: "alice"}, plainCh, ""},
		{"anonymous without credentials", false, all, nobody, tlsCh, "ANONYMOUS"},
		{"anonymous with only an authzid", false, []string{"ANONYMOUS"}, authzOnly, tlsCh, "ANONYMOUS"},
		{"nothing advertised", false, nil, password, tlsCh, ""},
		{"unknown names", false, []string{"SCRAM-SHA-1", "GSSAPI", "not valid!"}, password, tlsCh, ""},
		{"server-only mech", false, []string{"X-SERVER"}, nobody, tlsCh, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := append(allMechs(), serverSide{name: "X-SERVER"})
			r := mustNew(t, &registry.Config{InsecureClearSecret: tc.insecure}, ms...)
			got, err := r.Select(tc.advertised, tc.c, tc.ch)
			if tc.want == "" {
				if !errors.Is(err, registry.ErrNoMechanism) || got != "" {
					t.Errorf("Select = %q, %v; want ErrNoMechanism", got, err)
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

func TestDefaults(t *testing.T) {
	r := registry.Defaults()
	if diff := cmp.Diff([]string{"PLAIN", "LOGIN"}, r.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(registry.DefaultNames, r.Names()); diff != "" {
		t.Errorf("Names vs DefaultNames (-want +got):\n%s", diff)
	}
	if got := r.Advertise(plainCh); len(got) != 0 {
		t.Errorf("Advertise in the clear = %q, want nothing", got)
	}
	if diff := cmp.Diff([]string{"PLAIN", "LOGIN"}, r.Advertise(tlsCh)); diff != "" {
		t.Errorf("Advertise over TLS (-want +got):\n%s", diff)
	}
	// Two calls give independent registries.
	if err := r.Register(fake{name: "X-MORE"}); err != nil {
		t.Fatal(err)
	}
	if got := registry.Defaults().Names(); len(got) != 2 {
		t.Errorf("Defaults shares state: %q", got)
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
	r := mustNew(t, &registry.Config{InsecureClearSecret: true}, mech.Plain{}, mech.Login{})
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
				s, err := r.Server("plain", plainCh)
				if err != nil {
					t.Errorf("Server: %v", err)
					continue
				}
				step, err := s.StartInitial(ctx, []byte("\x00u\x00p"))
				if err != nil || !step.Done {
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
	keys := &scram.MemoryStore{}
	if err := keys.SetPassword("user", "pencil", 4096, scram.SHA256); err != nil {
		t.Fatal(err)
	}
	ch := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: mech.TLSExporter, Data: []byte("ekm")}}}
	for _, tc := range []struct {
		names []string
		ok    bool
	}{{[]string{"SCRAM-SHA-256"}, true}, {[]string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}, false}} {
		r, err := registry.Named(&registry.Config{SCRAMStore: keys, SCRAMMockIterations: 8192}, tc.names...)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := r.Server("SCRAM-SHA-256", ch)
		if err != nil {
			t.Fatal(err)
		}
		_, err = srv.StartInitial(context.Background(), []byte("y,,n=user,r=abc"))
		if (err == nil) != tc.ok {
			t.Errorf("%v: y flag: %v", tc.names, err)
		}
		if err == nil {
			// Unknown users get the configured iteration count.
			srv, _ := r.Server("SCRAM-SHA-256", ch)
			step, _ := srv.StartInitial(context.Background(), []byte("n,,n=nobody,r=abc"))
			if !strings.HasSuffix(string(step.Challenge), ",i=8192") {
				t.Errorf("mock iterations: %q", step.Challenge)
			}
		}
	}
}

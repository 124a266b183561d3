package ldapstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	pwhash "github.com/saslkit/saslkit/creds/hash"
)

const pencil = "pencil-Secret-3"

// verifier returns a Verifier on s.
func verifier(s creds.Store) *creds.Verifier {
	return &creds.Verifier{Store: s, Secret: []byte("ldapstore test secret, 32 octets")}
}

// TestSchemes stores a password in each scheme, hashed by slappasswd where
// it supports the scheme, and checks it twice: with the store reading the
// hash, and with BindVerify, where slapd checks it. The two must agree,
// right and wrong.
func TestSchemes(t *testing.T) {
	d := startSlapd(t)
	argon2id, err := pwhash.Argon2id{Time: 1, Memory: 4096, Threads: 1}.Hash(pencil)
	if err != nil {
		t.Fatal(err)
	}
	schemes := []struct{ name, value string }{
		{"SSHA", slappasswd(t, "", pencil, "-h", "{SSHA}")},
		{"SMD5", slappasswd(t, "", pencil, "-h", "{SMD5}")},
		{"SSHA256", slappasswd(t, "pw-sha2", pencil, "-h", "{SSHA256}")},
		{"SSHA512", slappasswd(t, "pw-sha2", pencil, "-h", "{SSHA512}")},
		{"SHA512", slappasswd(t, "pw-sha2", pencil, "-h", "{SHA512}")},
		{"CRYPT-sha512", slappasswd(t, "", pencil, "-h", "{CRYPT}", "-c", "$6$%.16s")},
		{"CRYPT-sha256-rounds", slappasswd(t, "", pencil, "-h", "{CRYPT}", "-c", "$5$rounds=2000$%.16s")},
		{"CRYPT-bcrypt-2y", slappasswd(t, "", pencil, "-h", "{CRYPT}", "-c", "$2y$05$%.22s")},
		{"CRYPT-bcrypt-2b", slappasswd(t, "", pencil, "-h", "{CRYPT}", "-c", "$2b$04$%.22s")},
		{"PBKDF2", slappasswd(t, "pw-pbkdf2", pencil, "-h", "{PBKDF2}")},
		{"PBKDF2-SHA256", slappasswd(t, "pw-pbkdf2", pencil, "-h", "{PBKDF2-SHA256}")},
		{"PBKDF2-SHA512", slappasswd(t, "pw-pbkdf2", pencil, "-h", "{PBKDF2-SHA512}")},
		{"ARGON2-i", slappasswd(t, "argon2", pencil, "-h", "{ARGON2}")},
		{"ARGON2-id", "{ARGON2}" + argon2id},
		{"CLEARTEXT", pencil},
	}
	base := d.ou()
	var entries []entry
	for _, s := range schemes {
		entries = append(entries, entry{cn: s.name, uid: []string{strings.ToLower(s.name)}, pw: []string{s.value}})
	}
	d.addEntries(base, entries...)
	read := d.config(base)
	bind := read
	bind.BindDN, bind.BindVerify, bind.DecoyDN = searcherDN, true, d.decoy(base)
	ctx := context.Background()
	for _, cfg := range []Config{read, bind} {
		v := verifier(open(t, cfg))
		for _, s := range schemes {
			t.Run(fmt.Sprintf("%s/bind=%v", s.name, cfg.BindVerify), func(t *testing.T) {
				name := strings.ToLower(s.name)
				if got, err := v.CheckPassword(ctx, name, pencil); err != nil || got != name {
					t.Errorf("right password: %q, %v", got, err)
				}
				for _, wrong := range []string{"pencil-secret-3", pencil + " ", "", "x"} {
					if _, err := v.CheckPassword(ctx, name, wrong); !errors.Is(err, creds.ErrBadCredentials) {
						t.Errorf("wrong password %q: %v", wrong, err)
					}
				}
			})
		}
	}
}

// TestHostileNames looks up names that would change an unescaped filter
// (RFC 4515 injection) and checks that each matches nothing: not the
// accounts its wildcards or clauses would match, and not several (which
// would be ErrAmbiguous). MatchByDirectory is set, so that the store's
// own name comparison cannot hide a filter that matched.
func TestHostileNames(t *testing.T) {
	d := startSlapd(t)
	base := d.ou()
	d.addEntries(base,
		entry{cn: "alice", uid: []string{"alice"}, pw: []string{pencil}},
		entry{cn: "bob", uid: []string{"bob"}, pw: []string{pencil}},
		entry{cn: "star", uid: []string{`a\2a`}, pw: []string{pencil}},
	)
	cfg := d.config(base)
	cfg.MatchByDirectory = true
	s := open(t, cfg)
	v := verifier(s)
	ctx := context.Background()
	hostile := []string{
		"*", "**", "a*", "*e", "al*ce", "a)(uid=*", "alice)(uid=*", "*)(objectClass=*",
		"(|(uid=*))", "alice)(|(uid=*", "*))(|(uid=*", `\00`, `\2a`, `a\2a\29`, `\`, "(", ")",
		"alice\x00", "\x00", "a\x00*", "uid=*", "*\u00ad", "ａ*", "\uff0a",
		strings.Repeat("*", creds.MaxInput), strings.Repeat("a", creds.MaxInput) + "*",
		strings.Repeat("(", creds.MaxInput+1), strings.Repeat("\u00e9", 600),
	}
	for _, name := range hostile {
		id, err := s.Lookup(ctx, name)
		if !errors.Is(err, creds.ErrUnknownUser) {
			var who string
			if id != nil {
				who = id.AccountName()
			}
			t.Errorf("Lookup(%.40q) = %q, %v; want ErrUnknownUser", name, who, err)
		}
		if _, err := v.CheckPassword(ctx, name, pencil); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("CheckPassword(%.40q): %v, want ErrBadCredentials", name, err)
		}
	}
	// The escaped name is still found as itself: the entry whose uid is
	// the six characters a\2a, not an "a*" wildcard.
	if id, err := s.Lookup(ctx, `a\2a`); err != nil || id.AccountName() != `a\2a` {
		t.Errorf(`Lookup("a\\2a") = %v, %v`, id, err)
	}
	if id, err := s.Lookup(ctx, "alice"); err != nil || id.AccountName() != "alice" {
		t.Errorf("Lookup(alice) = %v, %v", id, err)
	}
}

func TestFilterEscaping(t *testing.T) {
	c := Config{Filter: "(&(objectClass=inetOrgPerson)(uid=%s))"}
	c.prefix, c.suffix, _ = strings.Cut(c.Filter, "%s")
	tests := map[string]string{
		"alice":      "(&(objectClass=inetOrgPerson)(uid=alice))",
		"a)(uid=*":   `(&(objectClass=inetOrgPerson)(uid=a\29\28uid=\2a))`,
		"x\x00y":     `(&(objectClass=inetOrgPerson)(uid=x\00y))`,
		`\00`:        `(&(objectClass=inetOrgPerson)(uid=\5c00))`,
		"Ünïcode":    `(&(objectClass=inetOrgPerson)(uid=\c3\9cn\c3\afcode))`,
		"(|(uid=*))": `(&(objectClass=inetOrgPerson)(uid=\28|\28uid=\2a\29\29))`,
	}
	for name, want := range tests {
		if diff := cmp.Diff(want, c.filterFor(name)); diff != "" {
			t.Errorf("filterFor(%q) (-want +got)\n%s", name, diff)
		}
	}
}

// TestAmbiguous: two entries match a name, so the store refuses it, with
// a failure of the store and neither an account nor a wrong password.
func TestAmbiguous(t *testing.T) {
	d := startSlapd(t)
	base := d.ou()
	d.addEntries(base,
		entry{cn: "carol1", uid: []string{"carol"}, pw: []string{pencil}},
		entry{cn: "carol2", uid: []string{"carol"}, pw: []string{"other"}},
		entry{cn: "dave", uid: []string{"dave", "davey"}, pw: []string{pencil}},
	)
	for _, match := range []bool{false, true} {
		cfg := d.config(base)
		cfg.MatchByDirectory = match
		s := open(t, cfg)
		ctx := context.Background()
		_, err := s.Lookup(ctx, "carol")
		var se *Error
		if !errors.Is(err, ErrAmbiguous) || !errors.As(err, &se) || errors.Is(err, creds.ErrUnknownUser) {
			t.Errorf("MatchByDirectory=%v: Lookup(carol): %v, want an *Error wrapping ErrAmbiguous", match, err)
		}
		for _, pw := range []string{pencil, "other", "wrong"} {
			if a, err := verifier(s).CheckPassword(ctx, "carol", pw); !errors.Is(err, ErrAmbiguous) || errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("CheckPassword(carol, %q) = %q, %v; want ErrAmbiguous", pw, a, err)
			}
		}
		// One entry, two uid values: without MatchByDirectory the name
		// the client matched is the account; with it, the entry names no
		// one account.
		id, err := s.Lookup(ctx, "davey")
		switch {
		case !match && (err != nil || id.AccountName() != "davey"):
			t.Errorf("Lookup(davey) = %v, %v", id, err)
		case match && !errors.As(err, &se):
			t.Errorf("MatchByDirectory: Lookup(davey) = %v, %v; want an *Error", id, err)
		}
	}
}

// TestBindVerify checks BindVerify's answers: a wrong password is
// ErrBadCredentials, anything else the directory says is a failure of the
// store, and the decoy costs a bind.
func TestBindVerify(t *testing.T) {
	d := startSlapd(t)
	base := d.ou()
	d.addEntries(base,
		entry{cn: "erin", uid: []string{"erin"}, pw: []string{slappasswd(t, "", pencil, "-h", "{SSHA}")}},
		entry{cn: "nopw", uid: []string{"nopw"}},
	)
	cfg := d.config(base)
	cfg.BindDN, cfg.BindVerify, cfg.DecoyDN = searcherDN, true, "cn=missing,"+base
	if _, err := Open(context.Background(), cfg); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("a DecoyDN that names no entry: %v, want ErrMisconfigured", err)
	}
	cfg.DecoyDN = d.decoy(base)
	s := open(t, cfg)
	ctx := context.Background()
	id, err := s.Lookup(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	pc := id.(creds.PasswordChecker)
	if err := pc.CheckPassword(pencil); err != nil {
		t.Errorf("right password: %v", err)
	}
	for _, wrong := range []string{"wrong", "", "\u0007"} {
		if err := pc.CheckPassword(wrong); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("wrong password %q: %v", wrong, err)
		}
	}
	// An entry with no userPassword: slapd says invalidCredentials.
	if id, err := s.Lookup(ctx, "nopw"); err != nil || !errors.Is(id.(creds.PasswordChecker).CheckPassword(pencil), creds.ErrBadCredentials) {
		t.Errorf("an entry with no password: %v", err)
	}
	// Another result code (invalidDNSyntax, 34) is not a wrong password.
	bad := &bindAccount{s: s, name: "x", dn: "not a DN"}
	err = bad.CheckPassword(pencil)
	var se *Error
	if !errors.As(err, &se) || se.Code != 34 || errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("bind with a malformed DN: %v, want an *Error with code 34", err)
	}
	// The service account reads no hash: the identity is a bind.
	if _, ok := id.(*bindAccount); !ok {
		t.Errorf("identity %T, want a *bindAccount", id)
	}
	// An unknown user costs a bind: the decoy binds (and fails) once per
	// check, which the directory's statistics would show; here the
	// decoy must at least reach the directory and not succeed.
	decoy := s.Profile().PasswordDecoy
	if _, ok := decoy.(*bindDecoy); !ok {
		t.Fatalf("decoy %T, want a *bindDecoy", decoy)
	}
	if err := s.bind(s.decoyDN, s.decoyPW); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("the decoy bind: %v, want invalidCredentials", err)
	}
}

// TestServerFailures kills slapd under a store, hangs it, and restarts
// it: every failure is a failure of the store (an *Error), never an
// unknown user nor a wrong password, and the store recovers by itself.
func TestServerFailures(t *testing.T) {
	d := startSlapd(t)
	base := d.ou()
	d.addEntries(base, entry{cn: "frank", uid: []string{"frank"}, pw: []string{slappasswd(t, "", pencil, "-h", "{SSHA}")}})
	read := d.config(base)
	read.Timeout = time.Second
	bind := read
	bind.BindDN, bind.BindVerify, bind.DecoyDN = searcherDN, true, d.decoy(base)
	stores := []*Store{open(t, read), open(t, bind)}
	ctx := context.Background()
	var ids []creds.Identity
	for _, s := range stores {
		id, err := s.Lookup(ctx, "frank")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if err := id.(creds.PasswordChecker).CheckPassword(pencil); err != nil {
			t.Fatal(err)
		}
	}
	down := func(what string) {
		t.Helper()
		for i, s := range stores {
			v := verifier(s)
			for _, name := range []string{"frank", "nobody"} {
				start := time.Now()
				_, err := s.Lookup(ctx, name)
				var se *Error
				if !errors.As(err, &se) || errors.Is(err, creds.ErrUnknownUser) || errors.Is(err, creds.ErrBadCredentials) {
					t.Errorf("%s, store %d: Lookup(%s): %v, want an *Error", what, i, name, err)
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("%s, store %d: Lookup took %v, beyond the timeout", what, i, d)
				}
				if _, err := v.CheckPassword(ctx, name, pencil); errors.Is(err, creds.ErrBadCredentials) || err == nil {
					t.Errorf("%s, store %d: Verifier.CheckPassword(%s): %v, want the store's failure", what, i, name, err)
				}
			}
		}
		// BindVerify's identity, looked up before: its bind fails, and
		// that is no wrong password.
		err := ids[1].(creds.PasswordChecker).CheckPassword(pencil)
		var se *Error
		if !errors.As(err, &se) || errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("%s: bind as frank: %v, want an *Error", what, err)
		}
	}
	up := func(what string) {
		t.Helper()
		for i, s := range stores {
			var err error
			for try := 0; try < 20; try++ {
				var a string
				if a, err = verifier(s).CheckPassword(ctx, "frank", pencil); err == nil && a == "frank" {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				t.Errorf("%s, store %d: no recovery: %v", what, i, err)
			}
			if _, err := s.Lookup(ctx, "nobody"); !errors.Is(err, creds.ErrUnknownUser) {
				t.Errorf("%s, store %d: Lookup(nobody): %v", what, i, err)
			}
		}
	}

	d.kill()
	down("killed")
	oc, cancel := context.WithTimeout(ctx, 3*time.Second)
	if _, err := Open(oc, read); err == nil {
		t.Error("Open with the directory down succeeded")
	}
	cancel()
	d.start()
	up("restarted")

	d.signal(syscall.SIGSTOP)
	down("stopped")
	d.signal(syscall.SIGCONT)
	up("continued")
}

// TestHungServer: a server that accepts connections and never answers
// makes Open and lookups fail within the timeout.
func TestHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	cfg := Config{URL: "ldap://" + ln.Addr().String(), InsecureNoTLS: true, BaseDN: suffix, Filter: "(uid=%s)", Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err = Open(context.Background(), cfg)
	var se *Error
	if !errors.As(err, &se) {
		t.Errorf("Open: %v, want an *Error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open took %v with a 300ms timeout", d)
	}
	// A context shorter than the timeout ends the search first.
	cfg.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = Open(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &se) {
		t.Errorf("Open with a short context: %v, want an *Error wrapping DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open took %v with a 200ms context", d)
	}
}

// TestTLS connects with ldaps:// and with StartTLS, verifying the test
// CA, and refuses a server the roots do not vouch for.
func TestTLS(t *testing.T) {
	d := startSlapd(t)
	base := d.ou()
	d.addEntries(base, entry{cn: "grace", uid: []string{"grace"}, pw: []string{pencil}})
	tc := &tls.Config{RootCAs: d.pki.Roots}
	ldaps := d.config(base)
	ldaps.URL, ldaps.InsecureNoTLS, ldaps.TLS = d.tlsURL(), false, tc
	startTLS := d.config(base)
	startTLS.StartTLS, startTLS.InsecureNoTLS, startTLS.TLS = true, false, tc
	bindTLS := startTLS
	bindTLS.BindDN, bindTLS.BindVerify, bindTLS.DecoyDN = searcherDN, true, d.decoy(base)
	ctx := context.Background()
	for _, cfg := range []Config{ldaps, startTLS, bindTLS} {
		if a, err := verifier(open(t, cfg)).CheckPassword(ctx, "grace", pencil); err != nil || a != "grace" {
			t.Errorf("%s StartTLS=%v BindVerify=%v: %q, %v", cfg.URL, cfg.StartTLS, cfg.BindVerify, a, err)
		}
		untrusted := cfg
		untrusted.TLS = &tls.Config{}
		if _, err := Open(ctx, untrusted); err == nil || errors.Is(err, creds.ErrUnknownUser) {
			t.Errorf("%s StartTLS=%v with the system roots: %v, want a failure", cfg.URL, cfg.StartTLS, err)
		}
	}
}

// TestProfile checks what the sample makes of the entries: the decoy of
// the most common scheme and cost, Config.Decoy over it, SCRAM shapes,
// clear passwords, and a service account that reads no password.
func TestProfile(t *testing.T) {
	d := startSlapd(t)
	base := d.ou()
	k1, _ := creds.DeriveSCRAMKeys("SHA-256", pencil, []byte("0123456789abcdef"), 4096, false)
	k2, _ := creds.DeriveSCRAMKeys("SHA-256", pencil, []byte("0123456789abcdef"), 8192, false)
	k3, _ := creds.DeriveSCRAMKeys("SHA-1", pencil, []byte("01234567"), 4096, false)
	argon := slappasswd(t, "argon2", pencil, "-h", "{ARGON2}")
	d.addEntries(base,
		entry{cn: "a1", uid: []string{"a1"}, pw: []string{argon}, auth: []string{k1.RFC5803(), k3.RFC5803()}},
		entry{cn: "a2", uid: []string{"a2"}, pw: []string{slappasswd(t, "argon2", pencil, "-h", "{ARGON2}")}, auth: []string{k1.RFC5803()}},
		entry{cn: "s1", uid: []string{"s1"}, pw: []string{slappasswd(t, "", pencil, "-h", "{SSHA}")}, auth: []string{k2.RFC5803()}},
		entry{cn: "c1", uid: []string{"c1"}, pw: []string{"clear"}},
		entry{cn: "y1", uid: []string{"y1"}, pw: []string{"{CRYPT}$y$j9T$abcdefgh$ijklmnop"}},
	)
	s := open(t, d.config(base))
	p := s.Profile()
	vd, ok := p.PasswordDecoy.(*valueDecoy)
	if !ok || vd.c.class() != "argon2i:m=4096,t=3,p=1" {
		t.Errorf("decoy %T %v, want the argon2i accounts'", p.PasswordDecoy, p.PasswordDecoy)
	}
	want := []creds.SCRAMShape{{Hash: "SHA-1", SaltLen: 8, Iterations: 4096}, {Hash: "SHA-256", SaltLen: 16, Iterations: 4096}}
	if diff := cmp.Diff(want, p.SCRAM); diff != "" || !p.ClearSecrets {
		t.Errorf("SCRAM shapes (-want +got)\n%s; ClearSecrets %v", diff, p.ClearSecrets)
	}
	// An account of an unsupported scheme is a failure of the store,
	// after the decoy's work; the Verifier reports a bad login.
	id, err := s.Lookup(context.Background(), "y1")
	if err != nil {
		t.Fatal(err)
	}
	err = id.(creds.PasswordChecker).CheckPassword(pencil)
	var se *SchemeError
	if !errors.As(err, &se) || se.Scheme != "CRYPT" || errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("yescrypt account: %v, want a *SchemeError", err)
	}
	// A clear account holds its secret for CRAM-MD5; a hashed one none.
	c1, _ := s.Lookup(context.Background(), "c1")
	if sec, ok := c1.(creds.ClearSecretHolder).ClearSecret(); !ok || sec != "clear" {
		t.Errorf("ClearSecret = %q, %v", sec, ok)
	}
	a1, _ := s.Lookup(context.Background(), "a1")
	if _, ok := a1.(creds.ClearSecretHolder).ClearSecret(); ok {
		t.Error("a hashed account holds a clear secret")
	}

	cfg := d.config(base)
	cfg.Decoy = slappasswd(t, "pw-pbkdf2", "nobody's", "-h", "{PBKDF2-SHA512}")
	vd, ok = open(t, cfg).Profile().PasswordDecoy.(*valueDecoy)
	if !ok || vd.c.class() != "pbkdf2-sha512:10000:64" {
		t.Errorf("Config.Decoy: decoy %v", vd)
	}
	cfg.Decoy = "{CRYPT}$y$j9T$abcdefgh$ijklmnop"
	if _, err := Open(context.Background(), cfg); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("an unusable Config.Decoy: %v, want ErrMisconfigured", err)
	}
	cfg = d.config(base)
	cfg.BindDN = searcherDN
	if _, err := Open(context.Background(), cfg); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("a service account that reads no password: %v, want ErrMisconfigured", err)
	}
	cfg.BindPassword = "wrong"
	if _, err := Open(context.Background(), cfg); !errors.As(err, new(*Error)) || errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("a wrong service password: %v, want an *Error", err)
	}
}

func TestConfig(t *testing.T) {
	ok := Config{URL: "ldap://127.0.0.1:1", InsecureNoTLS: true, BaseDN: suffix, Filter: "(uid=%s)"}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"no URL", func(c *Config) { c.URL = "" }},
		{"ldapi", func(c *Config) { c.URL = "ldapi:///" }},
		{"a path", func(c *Config) { c.URL = "ldap://host/dc=x?uid" }},
		{"plain text", func(c *Config) { c.InsecureNoTLS = false }},
		{"StartTLS with ldaps", func(c *Config) { c.URL, c.StartTLS = "ldaps://host", true }},
		{"no base", func(c *Config) { c.BaseDN = "" }},
		{"bad base", func(c *Config) { c.BaseDN = "not a dn" }},
		{"no placeholder", func(c *Config) { c.Filter = "(uid=alice)" }},
		{"two placeholders", func(c *Config) { c.Filter = "(|(uid=%s)(mail=%s))" }},
		{"bad filter", func(c *Config) { c.Filter = "(uid=%s" }},
		{"bind DN, no password", func(c *Config) { c.BindDN = readerDN }},
		{"password, no bind DN", func(c *Config) { c.BindPassword = "x" }},
		{"bad scope", func(c *Config) { c.Scope = 7 }},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }},
		{"Decoy with BindVerify", func(c *Config) { c.Decoy, c.BindVerify, c.DecoyDN = "{SSHA}x", true, readerDN }},
		{"BindVerify without DecoyDN", func(c *Config) { c.BindVerify = true }},
		{"bad DecoyDN", func(c *Config) { c.BindVerify, c.DecoyDN = true, "x" }},
		{"bad NameAttr", func(c *Config) { c.NameAttr = "uid)(x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			_, err := Open(context.Background(), c)
			if !errors.Is(err, creds.ErrMisconfigured) {
				t.Errorf("Open: %v, want ErrMisconfigured", err)
			}
			if strings.Contains(fmt.Sprint(err), "x\"") {
				t.Errorf("error %v", err)
			}
		})
	}
	// The configuration that passes the checks fails at the network.
	if _, err := Open(context.Background(), ok); !errors.As(err, new(*Error)) {
		t.Errorf("Open with nothing listening: %v, want an *Error", err)
	}
}

// TestClosed: a closed store fails as a store, never as an unknown user.
func TestClosed(t *testing.T) {
	d := startSlapd(t)
	base := d.ou()
	d.addEntries(base, entry{cn: "heidi", uid: []string{"heidi"}, pw: []string{pencil}})
	s := open(t, d.config(base))
	s.Close()
	if _, err := s.Lookup(context.Background(), "heidi"); !errors.Is(err, errClosed) || errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("Lookup after Close: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s = open(t, d.config(base))
	if _, err := s.Lookup(ctx, "heidi"); !errors.Is(err, context.Canceled) {
		t.Errorf("Lookup with a cancelled context: %v, want context.Canceled", err)
	}
}

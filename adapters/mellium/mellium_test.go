package mellium_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"mellium.im/sasl"

	"github.com/saslkit/saslkit/adapters/mellium"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// gs2Header returns a SCRAM initial response's GS2 header.
func gs2Header(ir []byte) string {
	i := strings.Index(string(ir), ",n=")
	if i < 0 {
		return string(ir)
	}
	return string(ir[:i+1])
}

// TestStart checks what the adapter's first response is made of: the
// Negotiator's credentials or the Config's, and the channel bindings of
// the Negotiator's TLS state.
func TestStart(t *testing.T) {
	pki := testpki.New(t, "")
	tls13, _ := testpki.Handshake(t, &tls.Config{Certificates: []tls.Certificate{pki.Server}},
		&tls.Config{RootCAs: pki.Roots, ServerName: "localhost", MinVersion: tls.VersionTLS13})
	tls12, _ := testpki.Handshake(t, &tls.Config{Certificates: []tls.Certificate{pki.Server}},
		&tls.Config{RootCAs: pki.Roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	negotiatorCreds := sasl.Credentials(func() ([]byte, []byte, []byte) {
		return []byte("alice"), []byte("pencil"), []byte("admin")
	})
	sha256 := scram.Mechanism{Hash: scram.SHA256}
	plus := scram.Mechanism{Hash: scram.SHA256, Plus: true}
	tests := []struct {
		name string
		mech mech.Client
		cfg  *mellium.Config
		opts []sasl.Option
		// want is the initial response, or its GS2 header for SCRAM.
		want    string
		wantErr error
	}{
		{name: "PLAIN/negotiator", mech: mech.Plain{}, opts: []sasl.Option{negotiatorCreds},
			want: "admin\x00alice\x00pencil"},
		{name: "PLAIN/config", mech: mech.Plain{}, opts: []sasl.Option{negotiatorCreds},
			cfg:  &mellium.Config{Credentials: &creds.Client{Authcid: "bob", Password: "secret"}},
			want: "\x00bob\x00secret"},
		{name: "OAUTHBEARER/token", mech: mech.OAuthBearer{}, opts: []sasl.Option{negotiatorCreds},
			cfg:  &mellium.Config{Host: "xmpp.example", Port: "5222"},
			want: "n,a=admin,\x01host=xmpp.example\x01port=5222\x01auth=Bearer pencil\x01\x01"},
		{name: "EXTERNAL", mech: mech.External{}, opts: []sasl.Option{negotiatorCreds}, want: "admin"},
		{name: "CRAM-MD5", mech: mech.CRAMMD5{}, opts: []sasl.Option{negotiatorCreds}, wantErr: mech.ErrNoInitialResponse},
		{name: "LOGIN", mech: mech.Login{}, opts: []sasl.Option{negotiatorCreds}, wantErr: mellium.ErrServerFirst},
		{name: "SCRAM/no-TLS", mech: sha256, opts: []sasl.Option{negotiatorCreds}, want: "n,a=admin,"},
		{name: "SCRAM/TLS-1.3", mech: sha256, opts: []sasl.Option{negotiatorCreds, sasl.TLSState(tls13)}, want: "y,a=admin,"},
		{name: "SCRAM/PLUS-offered", mech: sha256,
			opts: []sasl.Option{negotiatorCreds, sasl.TLSState(tls13), sasl.RemoteMechanisms("SCRAM-SHA-256", "SCRAM-SHA-256-PLUS")},
			want: "n,a=admin,"},
		{name: "SCRAM/other-PLUS-offered", mech: sha256,
			opts: []sasl.Option{negotiatorCreds, sasl.TLSState(tls13), sasl.RemoteMechanisms("SCRAM-SHA-256", "SCRAM-SHA-1-PLUS")},
			want: "y,a=admin,"},
		{name: "PLUS/no-TLS", mech: plus, opts: []sasl.Option{negotiatorCreds}, wantErr: scram.ErrNoBinding},
		{name: "PLUS/TLS-1.3", mech: plus, opts: []sasl.Option{negotiatorCreds, sasl.TLSState(tls13)}, want: "p=tls-exporter,a=admin,"},
		{name: "PLUS/TLS-1.2", mech: plus, opts: []sasl.Option{negotiatorCreds, sasl.TLSState(tls12)}, want: "p=tls-unique,a=admin,"},
		{name: "PLUS/end-point", mech: plus, cfg: &mellium.Config{ChannelBinding: mech.TLSServerEndPoint},
			opts: []sasl.Option{negotiatorCreds, sasl.TLSState(tls13)}, want: "p=tls-server-end-point,a=admin,"},
		{name: "PLUS/unique-on-TLS-1.3", mech: plus, cfg: &mellium.Config{ChannelBinding: mech.TLSUnique},
			opts: []sasl.Option{negotiatorCreds, sasl.TLSState(tls13)}, wantErr: scram.ErrNoBinding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mellium.Mechanism(tt.mech, tt.cfg)
			if m.Name != tt.mech.Name() {
				t.Errorf("Name %q, want %q", m.Name, tt.mech.Name())
			}
			more, ir, err := sasl.NewClient(m, tt.opts...).Step(nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Start: %v, want an error wrapping %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if !more {
				t.Error("Start returned more == false: the outcome would not reach Next")
			}
			got := string(ir)
			if _, ok := tt.mech.(scram.Mechanism); ok {
				got = gs2Header(ir)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("initial response (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNextBadState checks that Next refuses a cache that is not the
// adapter's session.
func TestNextBadState(t *testing.T) {
	m := mellium.Mechanism(mech.Plain{}, nil)
	for _, cache := range []any{nil, "state", (*session.Client)(nil)} {
		_, _, _, err := m.Next(sasl.NewClient(m), []byte("v=x"), cache)
		if !errors.Is(err, mellium.ErrBadState) {
			t.Errorf("Next with cache %#v: %v, want ErrBadState", cache, err)
		}
	}
}

// TestShared runs one Mechanism value in concurrent negotiations through
// mellium, some with the wrong password: each keeps its own state.
func TestShared(t *testing.T) {
	const password = "pencil"
	keys, err := creds.DeriveSCRAMKeys("SHA-256", password, nil, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}
	srv := scram.Mechanism{Hash: scram.SHA256}
	shared := mellium.Mechanism(scram.Mechanism{Hash: scram.SHA256}, nil)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := password
			if i%2 == 1 {
				pw = fmt.Sprint("wrong", i)
			}
			errs[i] = dialFake(t, &fakeServer{mech: srv, cfg: cfg}, pw, shared)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 && err != nil {
			t.Errorf("login %d with the right password: %v", i, err)
		}
		if i%2 == 1 && !isFailure(err) {
			t.Errorf("login %d with a wrong password: %v, want the server's failure", i, err)
		}
	}
}

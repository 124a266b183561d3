package interop

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// TestGsaslIMAPPlus runs `gsasl --client --imap` against a saslkit server
// behind STARTTLS on a real crypto/tls connection, pinned to each TLS
// version. With SCRAM-SHA-256-PLUS gsasl must pick tls-unique on TLS 1.2
// and tls-exporter on TLS 1.3, and both sides must derive the same binding
// data from the connection.
func TestGsaslIMAPPlus(t *testing.T) {
	gsasl := NeedTools(t, "gsasl")[0]
	certs := NewCerts(t, t.TempDir())
	cases := []struct {
		name    string
		version uint16
		mech    string
		args    []string
		mitm    bool // the server's channel differs from the client's
		flag    byte // the GS2 flag gsasl must send
		cbName  string
		wantE   string // the server's e= value, or empty for success
	}{
		{name: "TLS1.2/PLUS", version: tls.VersionTLS12, mech: "SCRAM-SHA-256-PLUS", flag: 'p', cbName: mech.TLSUnique},
		{name: "TLS1.3/PLUS", version: tls.VersionTLS13, mech: "SCRAM-SHA-256-PLUS", flag: 'p', cbName: mech.TLSExporter},
		{name: "TLS1.2/PLUS/mitm", version: tls.VersionTLS12, mech: "SCRAM-SHA-256-PLUS", mitm: true, flag: 'p', cbName: mech.TLSUnique,
			wantE: "channel-bindings-dont-match"},
		{name: "TLS1.3/PLUS/mitm", version: tls.VersionTLS13, mech: "SCRAM-SHA-256-PLUS", mitm: true, flag: 'p', cbName: mech.TLSExporter,
			wantE: "channel-bindings-dont-match"},
		// Without -PLUS, gsasl 2.2.0 must be given --no-cb over TLS
		// (INTEROP.md) and then sends "n". Without --no-cb it gives up
		// before sending anything: "mechanism error: Error
		// authenticating user", exit 1.
		{name: "TLS1.3/no-cb", version: tls.VersionTLS13, mech: "SCRAM-SHA-256", args: []string{"--no-cb"}, flag: 'n'},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := &IMAPConfig{
				TLS: &tls.Config{
					Certificates: []tls.Certificate{certs.Server},
					MinVersion:   tc.version,
					MaxVersion:   tc.version,
				},
				Leaf: certs.Leaf,
				Mechanisms: []mech.Server{
					scram.Mechanism{Hash: scram.SHA256, Plus: true},
					scram.Mechanism{Hash: scram.SHA256},
				},
				Verifier: newVerifier(t, scram.SHA256),
			}
			if tc.mitm {
				cfg.Rebind = func(ch *mech.Channel) {
					for i := range ch.Bindings {
						ch.Bindings[i].Data = randomBytes(t, len(ch.Bindings[i].Data))
					}
				}
			}
			srv := ServeIMAP(t, cfg)
			args := append([]string{"--client", "-d", "--quiet",
				"-a", testUser, "-p", testPassword,
				"--imap", "--connect=" + srv.Addr, "--starttls",
				"--x509-ca-file=" + certs.CAFile, "--hostname=localhost",
				"-m", tc.mech}, tc.args...)
			p := Start(t, nil, gsasl, args...)
			res, err := srv.Result()
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, b := range res.Channel.Bindings {
				types = append(types, b.Type)
			}
			t.Logf("server channel bindings: %s", strings.Join(types, ", "))
			if res.TLSVersion != tc.version {
				t.Errorf("TLS version %#x, want %#x", res.TLSVersion, tc.version)
			}
			if res.Mechanism != tc.mech {
				t.Errorf("mechanism %q, want %q", res.Mechanism, tc.mech)
			}
			if res.CBFlag != tc.flag || res.CBName != tc.cbName {
				t.Errorf("gsasl sent GS2 flag %q, type %q; want %q, %q", res.CBFlag, res.CBName, tc.flag, tc.cbName)
			}
			if tc.wantE != "" {
				// The e= goes as a last challenge (FinalAsChallenge).
				// gsasl 2.2.0 cannot parse it ("SASL mechanism could
				// not parse input") and hangs up instead of replying.
				var last []byte
				if n := len(res.Challenges); n > 0 {
					last = res.Challenges[n-1]
				}
				if string(last) != "e="+tc.wantE {
					t.Errorf("last challenge %q, want %q", last, "e="+tc.wantE)
				}
				var fe *mech.FailureError
				if res.Err == nil || (!errors.Is(res.Err, ErrHangup) && !(errors.Is(res.Err, mech.ErrAuthFailed) && errors.As(res.Err, &fe))) {
					t.Errorf("server outcome %v, want a hang-up or an authentication failure", res.Err)
				}
				wantExit(t, p, -1)
				return
			}
			if res.Err != nil {
				t.Fatalf("server: %v", res.Err)
			}
			if !res.Step.Done || res.Step.Principal.Account() != testUser {
				t.Errorf("step %+v, want done for %q", res.Step, testUser)
			}
			wantExit(t, p, 0)
		})
	}
}

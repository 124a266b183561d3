package interop

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// After authentication the Cyrus 2.1.28 sample programs test the security
// layer: the server sends sasl_encode("srv message 1") and the client
// answers sasl_encode("client message 1"), each with its C string's NUL.
// SCRAM has no security layer, so the messages go as they are.
const (
	cyrusServerMsg = "srv message 1\x00"
	cyrusClientMsg = "client message 1\x00"
)

// cyrusSetup writes a sample.conf for the Cyrus sample programs and a
// sasldb holding user/pencil, and returns the environment to run them in.
func cyrusSetup(t *testing.T, saslpasswd2 string) []string {
	t.Helper()
	dir := t.TempDir()
	conf := strings.Join([]string{
		"pwcheck_method: auxprop",
		"auxprop_plugin: sasldb",
		"sasldb_path: " + filepath.Join(dir, "sasldb2"),
		"mech_list: SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-512",
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "sample.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"SASL_CONF_PATH=" + dir}
	p := Start(t, &ProcOptions{Env: env}, saslpasswd2,
		"-p", "-c", "-f", filepath.Join(dir, "sasldb2"), "-u", "localhost", "-a", "sample", testUser)
	writeLine(t, p, testPassword)
	wantExit(t, p, 0)
	return env
}

var cyrusCases = []struct {
	name       string
	password   string
	serverLast bool // -l: the server sends its v= with success
}{
	{"success", testPassword, false},
	{"success/server-last", testPassword, true},
	{"wrong-password", "wrong", false},
}

// TestCyrusServer runs saslkit's SCRAM-SHA-512 client against Cyrus SASL's
// sasl-sample-server. Without -l the server sends its "v=" as a last
// challenge and expects an empty reply, as IMAP does; with -l it sends it
// after "Negotiation complete", as additional data with success.
func TestCyrusServer(t *testing.T) {
	tools := NeedTools(t, "sasl-sample-server", "saslpasswd2", "stdbuf")
	env := cyrusSetup(t, tools[1])
	for _, tc := range cyrusCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const name = "SCRAM-SHA-512"
			args := []string{"-oL", tools[0], "-s", "imap", "-d", "localhost", "-u", "localhost", "-m", name}
			if tc.serverLast {
				args = append(args, "-l")
			}
			p := Start(t, &ProcOptions{Env: env}, tools[2], args...)
			ctx := p.Context()
			list := readPrefixedB64(t, p, "S: ")
			if !bytes.Contains(list, []byte(name)) {
				t.Fatalf("mechanism list %q has no %s", list, name)
			}
			// Cyrus's SCRAM asks for 4096 iterations, our client's
			// default minimum: MinIterations can stay at its default.
			c := session.NewClient(scram.Mechanism{Hash: scram.SHA512},
				creds.Client{Authcid: testUser, Password: tc.password}, mech.Channel{}, nil)
			ir, ok, err := c.Start(ctx)
			if err != nil || !ok {
				t.Fatalf("Start: %v, %v", ok, err)
			}
			writeLine(t, p, "C: "+session.Encode(append([]byte(name+"\x00"), ir...)))
			resp, err := c.Next(ctx, readPrefixedB64(t, p, "S: "))
			if err != nil {
				t.Fatalf("Next(server-first): %v", err)
			}
			writeLine(t, p, "C: "+session.Encode(resp))

			line, err := p.ReadPrefixed("S: ")
			if tc.password != testPassword {
				// Cyrus sends no e=: it prints "SASL Other: StoredKey
				// mismatch" on stderr and exits 1.
				if err == nil {
					t.Fatalf("server went on after a wrong password: %q", line)
				}
				if serr := c.Success(ctx); !errors.Is(serr, mech.ErrAuthFailed) {
					t.Fatalf("Success without server-final: %v, want ErrAuthFailed", serr)
				}
				wantExit(t, p, -1)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			final := decodeLine(t, "cyrus", line)
			if tc.serverLast {
				if err := c.SuccessData(ctx, final); err != nil {
					t.Fatalf("SuccessData(%q): %v", final, err)
				}
			} else {
				resp, err = c.Next(ctx, final)
				if err != nil || len(resp) != 0 {
					t.Fatalf("Next(%q) = %q, %v; want an empty response", final, resp, err)
				}
				writeLine(t, p, "C: ")
			}
			if got := readPrefixedB64(t, p, "S: "); string(got) != cyrusServerMsg {
				t.Fatalf("after authentication the server sent %q, want %q", got, cyrusServerMsg)
			}
			writeLine(t, p, "C: "+session.Encode([]byte(cyrusClientMsg)))
			wantExit(t, p, 0)
			if !tc.serverLast {
				if err := c.Success(ctx); err != nil {
					t.Fatalf("Success: %v", err)
				}
			}
		})
	}
}

// TestCyrusClient runs Cyrus SASL's sasl-sample-client with SCRAM-SHA-512
// against saslkit's server. Without -l the server sends its "v=" as a last
// challenge (Config.FinalAsChallenge), as the sample protocol expects.
func TestCyrusClient(t *testing.T) {
	tools := NeedTools(t, "sasl-sample-client", "saslpasswd2", "stdbuf")
	env := cyrusSetup(t, tools[1])
	for _, tc := range cyrusCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const name = "SCRAM-SHA-512"
			srv, err := session.NewServer(scram.Mechanism{Hash: scram.SHA512},
				mech.Channel{}, &session.Config{FinalAsChallenge: !tc.serverLast, Verifier: newVerifier(t, scram.SHA512)})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"-oL", tools[0], "-s", "imap", "-n", "localhost", "-a", testUser, "-m", name}
			if tc.serverLast {
				args = append(args, "-l")
			}
			p := Start(t, &ProcOptions{Env: env}, tools[2], args...)
			ctx := p.Context()
			writeLine(t, p, "S: "+session.Encode([]byte(name)))
			if err := p.StderrUntil("Password: "); err != nil {
				t.Fatal(err)
			}
			writeLine(t, p, tc.password)
			first := readPrefixedB64(t, p, "C: ")
			mechName, ir, ok := bytes.Cut(first, []byte{0})
			if !ok || string(mechName) != name {
				t.Fatalf("client chose %q, want %s with an initial response", first, name)
			}
			step, err := srv.StartInitial(ctx, ir)
			var last []byte
			hungUp := false
			for err == nil && !step.Done {
				last = step.Challenge
				writeLine(t, p, "S: "+session.Encode(step.Challenge))
				line, rerr := p.ReadPrefixed("C: ")
				if rerr != nil {
					hungUp = true
					break
				}
				step, err = srv.Next(ctx, decodeLine(t, "cyrus", line))
			}
			if tc.password != testPassword {
				// The e= reaches the client as a challenge; Cyrus
				// says "ServerSignature expected in SCRAM-SHA-512
				// input" and exits 1 without a reply.
				want := "e=invalid-proof"
				if string(last) != want || !(hungUp || errors.Is(err, creds.ErrBadCredentials)) {
					t.Fatalf("last challenge %q, outcome %v; want %q and a failure", last, err, want)
				}
				wantExit(t, p, -1)
				return
			}
			if err != nil || hungUp {
				t.Fatalf("server: %v (client hung up: %v)", err, hungUp)
			}
			if !step.Done || step.Principal.Account() != testUser {
				t.Fatalf("step %+v, want done for %q", step, testUser)
			}
			if tc.serverLast {
				if !step.HasFinal {
					t.Fatalf("step %+v has no final data", step)
				}
				writeLine(t, p, "S: "+session.Encode(step.Final))
			}
			writeLine(t, p, "S: "+session.Encode([]byte(cyrusServerMsg)))
			if got := readPrefixedB64(t, p, "C: "); string(got) != cyrusClientMsg {
				t.Fatalf("after authentication the client sent %q, want %q", got, cyrusClientMsg)
			}
			wantExit(t, p, 0)
		})
	}
}

func readPrefixedB64(t testing.TB, p *Proc, prefix string) []byte {
	t.Helper()
	line, err := p.ReadPrefixed(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return decodeLine(t, p.Name(), line)
}

package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/")

// runArgs runs the command with args and returns its exit status and output.
func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"default", nil, 0},
		{"PLAIN", []string{"-mech", "PLAIN"}, 0},
		{"plain", []string{"-mech", "plain"}, 0},
		{"LOGIN", []string{"-mech", "LOGIN"}, 0},
		{"login", []string{"-mech", "login"}, 0},
		{"CRAM-MD5", []string{"-mech", "CRAM-MD5"}, 0},
		{"cram-md5", []string{"-mech", "cram-md5"}, 0},
		{"XOAUTH2", []string{"-mech", "XOAUTH2"}, 0},
		{"xoauth2", []string{"-mech", "xoauth2"}, 0},
		{"EXTERNAL", []string{"-mech", "EXTERNAL"}, 0},
		{"external", []string{"-mech", "external"}, 0},
		{"PLAIN unicode password", []string{"-password", "pass\u00ADword", "-server-password", "pa\u200Bssword"}, 0},
		{"CRAM-MD5 unicode password", []string{"-mech", "CRAM-MD5", "-password", "pass\u00ADword", "-server-password", "pa\u200Bssword"}, 0},
		{"PLAIN self authzid", []string{"-authzid", "user"}, 0},
		{"EXTERNAL self authzid", []string{"-mech", "EXTERNAL", "-authzid", "user"}, 0},
		// The server prepares user names with SASLprep, as the SCRAM
		// client does: Ⅸ is sent as IX, and finds the account Ⅸ.
		{"SCRAM-SHA-256 SASLprep user", []string{"-mech", "SCRAM-SHA-256", "-user", "\u2168"}, 0},
		{"SCRAM-SHA-256-PLUS SASLprep user", []string{"-mech", "SCRAM-SHA-256-PLUS", "-user", "\u2168"}, 0},
		{"PLAIN SASLprep user", []string{"-mech", "PLAIN", "-user", "\u2168"}, 0},
		{"CRAM-MD5 SASLprep user", []string{"-mech", "CRAM-MD5", "-user", "\u2168"}, 0},
		{"OAUTHBEARER SASLprep user", []string{"-mech", "OAUTHBEARER", "-user", "\u2168"}, 0},

		{"PLAIN wrong server password", []string{"-mech", "PLAIN", "-server-password", "wrong"}, 1},
		{"LOGIN wrong server password", []string{"-mech", "LOGIN", "-server-password", "wrong"}, 1},
		{"CRAM-MD5 wrong server password", []string{"-mech", "CRAM-MD5", "-server-password", "wrong"}, 1},
		{"PLAIN wrong client password", []string{"-password", "wrong", "-server-password", "pencil"}, 1},
		{"XOAUTH2 wrong server token", []string{"-mech", "XOAUTH2", "-server-token", "wrong"}, 1},
		{"XOAUTH2 wrong client token", []string{"-mech", "XOAUTH2", "-token", "wrong", "-server-token", "tok123"}, 1},
		{"PLAIN other authzid", []string{"-authzid", "admin"}, 1},
		{"EXTERNAL other authzid", []string{"-mech", "EXTERNAL", "-authzid", "admin"}, 1},
		{"EXTERNAL no external id", []string{"-mech", "EXTERNAL", "-external-id", ""}, 1},
		{"SCRAM-SHA-256 wrong server password", []string{"-mech", "SCRAM-SHA-256", "-server-password", "wrong"}, 1},

		{"unknown mechanism", []string{"-mech", "NOPE"}, 2},
		{"invalid mechanism name", []string{"-mech", "no such mech"}, 2},
		{"unknown flag", []string{"-nope"}, 2},
		{"extra argument", []string{"PLAIN"}, 2},
		{"empty user", []string{"-user", ""}, 2},
		{"prohibited server password", []string{"-server-password", "pen\u0007cil"}, 2},
		{"prohibited SCRAM server password", []string{"-mech", "SCRAM-SHA-256", "-server-password", "pen\u0007cil"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, tt.args...)
			if code != tt.want {
				t.Errorf("run(%q) = %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.want, stdout, stderr)
			}
		})
	}
}

// TestEveryBuiltin runs every mechanism the library has built in, so that a
// mechanism added to the library must work here too: exit 0 with the right
// credentials, and exit 1 with the wrong server password or token.
func TestEveryBuiltin(t *testing.T) {
	for _, name := range registry.BuiltinNames() {
		m, ok := registry.Builtin(name)
		if !ok {
			t.Fatalf("Builtin(%q) not found", name)
		}
		t.Run(name, func(t *testing.T) {
			if code, stdout, stderr := runArgs(t, "-mech", name); code != 0 {
				t.Errorf("-mech %s: exit %d, want 0\n%s%s", name, code, stdout, stderr)
			}
			lower := strings.ToLower(name)
			if code, stdout, stderr := runArgs(t, "-mech", lower); code != 0 {
				t.Errorf("-mech %s: exit %d, want 0\n%s%s", lower, code, stdout, stderr)
			}
			var wrong []string
			switch p := m.Properties(); {
			case p.Anonymous:
				return // authenticates nobody, so nothing can be wrong
			case p.Uses == mech.UsesPassword:
				wrong = []string{"-mech", name, "-server-password", "wrong"}
			case p.Uses == mech.UsesToken:
				wrong = []string{"-mech", name, "-server-token", "wrong"}
			default:
				wrong = []string{"-mech", name, "-authzid", "someone-else"}
			}
			if code, stdout, stderr := runArgs(t, wrong...); code != 1 {
				t.Errorf("%q: exit %d, want 1\n%s%s", wrong, code, stdout, stderr)
			}
		})
	}
}

// TestTranscript compares the printed exchange of the deterministic
// mechanisms with testdata/<name>.golden. Run with -update to rewrite them.
func TestTranscript(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"plain", []string{"-mech", "plain"}},
		{"plain-authzid", []string{"-authzid", "user"}},
		{"plain-wrong-password", []string{"-server-password", "wrong"}},
		{"login", []string{"-mech", "login"}},
		{"xoauth2", []string{"-mech", "xoauth2"}},
		{"xoauth2-refused", []string{"-mech", "xoauth2", "-server-token", "wrong"}},
		{"external", []string{"-mech", "external"}},
		{"external-authzid-refused", []string{"-mech", "external", "-authzid", "admin"}},
		{"plain-unicode-user", []string{"-user", "\u2168"}},
		{"anonymous", []string{"-mech", "anonymous"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, _ := runArgs(t, tt.args...)
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("transcript mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlainLines checks the PLAIN transcript line by line, independently
// of the golden files.
func TestPlainLines(t *testing.T) {
	code, stdout, _ := runArgs(t)
	if code != 0 {
		t.Fatalf("run() = %d, want 0", code)
	}
	want := []string{
		"mechanism: PLAIN",
		`C: "\x00user\x00pencil" AHVzZXIAcGVuY2ls`,
		"S: success",
		"outcome: success, verified against the account store",
		`account: "user"`,
		"authzid: none",
	}
	got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PLAIN transcript (-want +got):\n%s", diff)
	}
}

// TestSCRAMAccount checks, by its shape, the SCRAM transcript of a user
// name that SASLprep changes: the client sends the prepared name, and the
// server reports the account by its name in the store.
func TestSCRAMAccount(t *testing.T) {
	code, stdout, _ := runArgs(t, "-mech", "SCRAM-SHA-256", "-user", "\u2168")
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stdout)
	}
	for _, want := range []string{`C: "n,,n=IX,r=`, "mutual authentication: the client verified", "outcome: success, verified against the account store", "account: \"\u2168\"\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestCRAMMD5Shape checks the CRAM-MD5 transcript, whose challenge is
// random, by its shape.
func TestCRAMMD5Shape(t *testing.T) {
	code, stdout, _ := runArgs(t, "-mech", "CRAM-MD5")
	if code != 0 {
		t.Fatalf("run() = %d, want 0\n%s", code, stdout)
	}
	lines := strings.Split(stdout, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[1], `S: "<`) || !strings.HasPrefix(lines[2], `C: "user `) {
		t.Errorf("unexpected CRAM-MD5 transcript:\n%s", stdout)
	}
}

// TestSecretsNotPrinted checks that a failed exchange does not print the
// server's secret.
func TestSecretsNotPrinted(t *testing.T) {
	for _, m := range []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"} {
		t.Run(m, func(t *testing.T) {
			_, stdout, stderr := runArgs(t, "-mech", m, "-server-password", "s3cr3t-server")
			if strings.Contains(stdout+stderr, "s3cr3t-server") {
				t.Errorf("output contains the server password:\n%s%s", stdout, stderr)
			}
		})
	}
}

// TestChannelBindingTypes runs SCRAM -PLUS over a real in-memory TLS
// connection with each binding type, and checks that mutual authentication
// is reported.
func TestChannelBindingTypes(t *testing.T) {
	for _, cb := range []string{mech.TLSExporter, mech.TLSUnique, mech.TLSServerEndPoint} {
		var out, errOut bytes.Buffer
		if code := run([]string{"-mech", "SCRAM-SHA-256-PLUS", "-cb", cb}, &out, &errOut); code != 0 {
			t.Errorf("-cb %s: exit %d\n%s%s", cb, code, out.String(), errOut.String())
			continue
		}
		for _, want := range []string{"channel binding: " + cb + " over TLS", "mutual authentication: the client verified"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("-cb %s: output lacks %q:\n%s", cb, want, out.String())
			}
		}
	}
	var out bytes.Buffer
	if code := run([]string{"-mech", "SCRAM-SHA-256-PLUS", "-cb", "tls-bogus"}, &out, &out); code != 2 {
		t.Errorf("unknown -cb: exit %d, want 2", code)
	}
}

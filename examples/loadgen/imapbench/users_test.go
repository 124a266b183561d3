package imapbench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/mech/scram"
)

// small keeps the Argon2id users quick to write and check.
var small = hash.Argon2id{Memory: 64, Time: 1, Threads: 1}

func TestWriteUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	users, err := WriteUsers(path, Groups, 2, small)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prefix := map[string]string{
		GroupPlain: "{PLAIN}pw-", GroupWrong: "{PLAIN}pw-", GroupBcrypt: "{BLF-CRYPT}$2y$05$",
		GroupArgon2id: "{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$", GroupSCRAM: "{SCRAM-SHA-256}4096,",
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2*len(Groups) {
		t.Fatalf("%d lines; want %d", len(lines), 2*len(Groups))
	}
	for i, l := range lines {
		g := Groups[i/2]
		name, stored, _ := strings.Cut(l, ":")
		if a := users[g][i%2]; name != a.Name || !strings.HasPrefix(a.Name, g) {
			t.Errorf("line %d: user %q; want %q, of group %s", i+1, name, a.Name, g)
		}
		if !strings.HasPrefix(stored, prefix[g]) {
			t.Errorf("line %d: %q; want the prefix %q", i+1, stored, prefix[g])
		}
	}

	// examples/imapserver reads the file, and every password checks.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, err := authserver.ParseUsers(f, []scram.Hash{scram.SHA256})
	if err != nil {
		t.Fatalf("examples/imapserver's ParseUsers: %v", err)
	}
	v := &creds.Verifier{Store: u}
	for _, g := range Groups {
		for _, a := range users[g] {
			if _, err := v.CheckPassword(context.Background(), a.Name, a.Password); err != nil {
				t.Errorf("%s: CheckPassword: %v", a.Name, err)
			}
			if _, err := v.CheckPassword(context.Background(), a.Name, a.Password+wrongSuffix); err == nil {
				t.Errorf("%s: CheckPassword accepts a wrong password", a.Name)
			}
		}
	}
	if _, err := WriteUsers(path, []string{"nonsense"}, 1, small); err == nil {
		t.Error("WriteUsers with an unknown group: nil error")
	}
}

// TestWriteUsersDovecot checks the hashes with Dovecot's own verifier.
func TestWriteUsersDovecot(t *testing.T) {
	doveadm, err := exec.LookPath("doveadm")
	if err != nil {
		t.Skip("doveadm (Dovecot, Debian package dovecot-core) is not installed")
	}
	path := filepath.Join(t.TempDir(), "users")
	users, err := WriteUsers(path, []string{GroupBcrypt, GroupArgon2id, GroupSCRAM}, 1, small)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for _, g := range []string{GroupBcrypt, GroupArgon2id, GroupSCRAM} {
		if !sc.Scan() {
			t.Fatal("short file")
		}
		_, stored, _ := strings.Cut(sc.Text(), ":")
		out, err := exec.Command(doveadm, "pw", "-t", stored, "-p", users[g][0].Password).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "(verified)") {
			t.Errorf("%s: doveadm pw -t: %v\n%s", g, err, out)
		}
	}
}

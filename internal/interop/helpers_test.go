package interop

import (
	"bytes"
	"crypto/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// The credentials of INTEROP.md.
const (
	testUser     = "user"
	testPassword = "pencil"
)

// scramMech names one SCRAM mechanism under test.
type scramMech struct {
	hash scram.Hash
	plus bool
}

func (m scramMech) name() string { return m.hash.Mechanism(m.plus) }

// pipeMechs are the mechanisms gsasl runs over pipes.
var pipeMechs = []scramMech{
	{scram.SHA1, false},
	{scram.SHA256, false},
	{scram.SHA1, true},
	{scram.SHA256, true},
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// exporterChannel is a channel with the given bytes as its tls-exporter
// binding, as gsasl is given them at its prompt.
func exporterChannel(cb []byte) mech.Channel {
	return mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: mech.TLSExporter, Data: cb}}}
}

// newVerifier returns a Verifier over a store holding the test user, with
// SCRAM keys for each of hashes derived from the test password at 4096
// iterations.
func newVerifier(t testing.TB, hashes ...scram.Hash) *creds.Verifier {
	t.Helper()
	a := creds.Account{Name: testUser}
	for _, h := range hashes {
		k, err := creds.DeriveSCRAMKeys(h.Name(), testPassword, nil, 4096, false)
		if err != nil {
			t.Fatal(err)
		}
		a.SCRAM = append(a.SCRAM, k)
	}
	var s creds.MemoryStore
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	return &creds.Verifier{Store: &s}
}

// readLine reads one line from p and fails the test if there is none.
func readLine(t testing.TB, p *Proc) string {
	t.Helper()
	line, err := p.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// readB64 reads one line of base64 from p and decodes it.
func readB64(t testing.TB, p *Proc) []byte {
	t.Helper()
	return decodeLine(t, p.Name(), readLine(t, p))
}

func decodeLine(t testing.TB, who, line string) []byte {
	t.Helper()
	msg, err := session.Decode([]byte(line), 0)
	if err != nil {
		t.Fatalf("%s sent %q: %v", who, line, err)
	}
	return msg
}

func writeLine(t testing.TB, p *Proc, line string) {
	t.Helper()
	if err := p.WriteLine(line); err != nil {
		t.Fatal(err)
	}
}

// answerCBPrompt waits for gsasl's prompt for channel-binding bytes, checks
// that it asks for typ, and answers it with cb.
func answerCBPrompt(t testing.TB, p *Proc, typ string, cb []byte) {
	t.Helper()
	prompt, err := p.ReadUntil("channel binding: ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(prompt, typ) {
		t.Fatalf("%s prompt %q does not ask for %s", p.Name(), prompt, typ)
	}
	writeLine(t, p, session.Encode(cb))
}

// tamper returns a server-final "v=" message with one bit of the signature
// flipped.
func tamper(t testing.TB, final []byte) []byte {
	t.Helper()
	v, ok := bytes.CutPrefix(final, []byte("v="))
	if !ok {
		t.Fatalf("server-final %q is not v=", final)
	}
	sig, err := session.Decode(v, 0)
	if err != nil {
		t.Fatalf("server-final %q: %v", final, err)
	}
	sig[0] ^= 1
	return []byte("v=" + session.Encode(sig))
}

// wantExit waits for p and checks its exit code: want, or any non-zero
// code for want < 0.
func wantExit(t testing.TB, p *Proc, want int) {
	t.Helper()
	code, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if (want < 0 && code == 0) || (want >= 0 && code != want) {
		t.Fatalf("%s exited with %d, want %s; stderr:\n%s", p.Name(), code, exitWant(want), p.Stderr())
	}
}

func exitWant(want int) string {
	if want < 0 {
		return "non-zero"
	}
	return strconv.Itoa(want)
}

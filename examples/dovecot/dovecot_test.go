package dovecot

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/saslkit/saslkit/examples/client/mailclient"
	"github.com/saslkit/saslkit/session"
)

// A case runs examples/client once against Dovecot.
type clientCase struct {
	name  string // the subtest's name
	label string // the case, in the matrix
	proto string // "IMAP" or "SMTP"
	mech  string // the mechanism, for the matrix; "auto" when picked
	conn  string // "plain", "STARTTLS" or "TLS"
	args  []string
	want  int      // exit status
	out   []string // substrings the output must hold
}

// TestClient runs examples/client against Dovecot with every mechanism
// Dovecot offers, each with the right secret and a wrong one, over IMAP
// and SMTP submission.
func TestClient(t *testing.T) {
	s := startDovecot(t)

	imap := []string{"-imap", s.imap}
	imapTLS := []string{"-imap", s.imap, "-starttls", "-cafile", s.ca}
	imaps := []string{"-imap", s.imaps, "-tls", "-cafile", s.ca}
	smtp := []string{"-smtp", s.submission}
	smtpTLS := []string{"-smtp", s.submission, "-starttls", "-cafile", s.ca}
	pw := func(mech, pass string) []string {
		return []string{"-mech", mech, "-user", user, "-password", pass}
	}
	tok := func(mech, tok string) []string {
		return []string{"-mech", mech, "-user", user, "-token", tok}
	}
	cat := func(a ...[]string) []string {
		var all []string
		for _, x := range a {
			all = append(all, x...)
		}
		return all
	}
	insecure := []string{"-insecure"}
	clientCert := []string{"-cert", s.clientCert, "-key", s.clientKey}
	otherCert := []string{"-cert", s.otherClientCert, "-key", s.otherClientKey}
	success := []string{"outcome: success"}
	failed := []string{"outcome: authentication failed"}

	var cases []clientCase
	add := func(proto, mech, conn, name string, want int, out []string, args ...[]string) {
		cases = append(cases, clientCase{
			name: proto + " " + mech + " " + conn + " " + name, label: name, proto: proto, mech: mech, conn: conn,
			args: cat(args...), want: want, out: out,
		})
	}

	for _, p := range []struct {
		proto      string
		plain, tls []string
	}{
		{"IMAP", imap, imapTLS},
		{"SMTP", smtp, smtpTLS},
	} {
		for _, m := range []string{"PLAIN", "LOGIN"} {
			add(p.proto, m, "plain", "good", 0, success, p.plain, insecure, pw(m, password))
			add(p.proto, m, "plain", "wrong password", 1, failed, p.plain, insecure, pw(m, "wrong"))
			add(p.proto, m, "STARTTLS", "good", 0, success, p.tls, pw(m, password))
		}
		for _, m := range []string{"CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"} {
			add(p.proto, m, "plain", "good", 0, success, p.plain, pw(m, password))
			add(p.proto, m, "plain", "wrong password", 1, failed, p.plain, pw(m, "wrong"))
		}
		add(p.proto, "SCRAM-SHA-256", "STARTTLS", "good", 0, success, p.tls, pw("SCRAM-SHA-256", password))
		add(p.proto, "SCRAM-SHA-256", "plain", "stored keys", 0, success, p.plain,
			[]string{"-mech", "SCRAM-SHA-256", "-user", scramUser, "-password", password})
		add(p.proto, "SCRAM-SHA-256", "plain", "stored keys wrong password", 1, failed, p.plain,
			[]string{"-mech", "SCRAM-SHA-256", "-user", scramUser, "-password", "wrong"})
		// A bearer token is a reusable secret: in the clear only with
		// -insecure, and otherwise never sent.
		for _, m := range []string{"XOAUTH2", "OAUTHBEARER"} {
			add(p.proto, m, "plain", "good", 0, success, p.plain, insecure, tok(m, token))
			add(p.proto, m, "STARTTLS", "good", 0, success, p.tls, tok(m, token))
			add(p.proto, m, "plain", "refused without -insecure", 2, []string{"server offers: "}, p.plain, tok(m, token))
		}
		add(p.proto, "XOAUTH2", "plain", "bad token", 1, []string{`status: "401"`, `schemes: "bearer"`, failed[0]}, p.plain, insecure, tok("XOAUTH2", "wrong"))
		add(p.proto, "OAUTHBEARER", "plain", "bad token", 1, []string{`status: "invalid_token"`, `C: <redacted: 1 octets>`, failed[0]}, p.plain, insecure, tok("OAUTHBEARER", "wrong"))
		add(p.proto, "EXTERNAL", "STARTTLS", "good", 0, success, p.tls, clientCert, []string{"-mech", "EXTERNAL"})
		add(p.proto, "EXTERNAL", "STARTTLS", "unknown certificate", 1, failed, p.tls, otherCert, []string{"-mech", "EXTERNAL"})
		// Without an initial response: the client answers the server's
		// empty first challenge.
		noIR := []string{"-no-ir"}
		add(p.proto, "PLAIN", "plain", "no initial response", 0, success, p.plain, insecure, noIR, pw("PLAIN", password))
		add(p.proto, "SCRAM-SHA-256", "plain", "no initial response", 0, success, p.plain, noIR, pw("SCRAM-SHA-256", password))
		add(p.proto, "OAUTHBEARER", "plain", "no initial response, bad token", 1, []string{`status: "invalid_token"`, failed[0]}, p.plain, insecure, noIR, tok("OAUTHBEARER", "wrong"))
		add(p.proto, "EXTERNAL", "STARTTLS", "no initial response", 0, success, p.tls, noIR, clientCert, []string{"-mech", "EXTERNAL"})
		add(p.proto, "auto", "plain", "password", 0, []string{"mechanism: SCRAM-SHA-256", success[0]}, p.plain, []string{"-user", user, "-password", password})
		add(p.proto, "auto", "STARTTLS", "token", 0, []string{"mechanism: OAUTHBEARER", success[0]}, p.tls, []string{"-user", user, "-token", token})
	}
	add("IMAP", "EXTERNAL", "TLS", "good", 0, success, imaps, clientCert, []string{"-mech", "EXTERNAL"})
	add("IMAP", "EXTERNAL", "TLS", "other authzid", 1, failed, imaps, clientCert, []string{"-mech", "EXTERNAL", "-authzid", "other"})
	add("IMAP", "auto", "TLS", "client certificate", 0, []string{"mechanism: EXTERNAL", success[0]}, imaps, clientCert)
	add("IMAP", "ANONYMOUS", "plain", "trace", 0, success, imap, []string{"-mech", "ANONYMOUS", "-trace", "trace@example.org"})
	add("IMAP", "ANONYMOUS", "plain", "empty trace", 0, []string{`C: "" (empty)`, success[0]}, imap, []string{"-mech", "ANONYMOUS"})
	add("IMAP", "auto", "plain", "no credentials", 0, []string{"mechanism: ANONYMOUS", success[0]}, imap)

	var (
		mu      sync.Mutex
		results = map[string]bool{}
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-v", "-timeout", "20s"}, tc.args...)
			code := mailclient.Run(args, &stdout, &stderr)
			ok := code == tc.want
			if !ok {
				t.Errorf("client %s = %d, want %d", strings.Join(args, " "), code, tc.want)
			}
			for _, s := range tc.out {
				if !strings.Contains(stdout.String(), s) {
					ok = false
					t.Errorf("output lacks %q", s)
				}
			}
			// -v is on: the trace must not hold a secret.
			for _, secret := range []string{password, token, session.Encode([]byte(password)), session.Encode([]byte(token))} {
				if strings.Contains(stdout.String()+stderr.String(), secret) {
					ok = false
					t.Errorf("output holds %q", secret)
				}
			}
			if tc.want == 2 && strings.Contains(stdout.String(), "AUTHENTICATE") || tc.want == 2 && strings.Contains(stdout.String(), "> AUTH ") {
				ok = false
				t.Error("the client started an exchange it should have refused")
			}
			if !ok || testing.Verbose() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			mu.Lock()
			results[tc.name] = ok
			mu.Unlock()
		})
	}
	t.Log("matrix (examples/client against Dovecot " + dovecotVersion(t) + "):\n" + matrix(cases, results))
}

// matrix formats the results as a Markdown table: one row per protocol and
// mechanism, one column per case.
func matrix(cases []clientCase, results map[string]bool) string {
	var b strings.Builder
	b.WriteString("| Protocol | Mechanism | Connection | Case | Expected | Result |\n|---|---|---|---|---|---|\n")
	for _, tc := range cases {
		ok, ran := results[tc.name]
		res := "pass"
		switch {
		case !ran:
			continue // filtered out with -run
		case !ok:
			res = "**FAIL**"
		}
		want := "success"
		if tc.want != 0 {
			want = fmt.Sprintf("refused (exit %d)", tc.want)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", tc.proto, tc.mech, tc.conn, tc.label, want, res)
	}
	return b.String()
}

package main

import (
	"bytes"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/session"
)

var (
	plainIR = session.Encode([]byte("\x00user\x00pencil"))
	userB64 = session.Encode([]byte("user"))
	passB64 = session.Encode([]byte("pencil"))
)

// TestProtocol runs the client against fake IMAP and SMTP servers and
// checks what it sends and how it ends.
func TestProtocol(t *testing.T) {
	pw := []string{"-user", "user", "-password", "pencil"}
	wrongPW := []string{"-user", "user", "-password", "wrong"}
	tests := []struct {
		name string
		cfg  fakeConfig
		pki  bool // give the server certificates, and the client the CA
		args []string
		want int
		// sent lists lines the client must send, in this order, with
		// others in between allowed. A line ending in "..." matches
		// any line it is a prefix of.
		sent []string
		// notSent lists lines the client must not send.
		notSent []string
		// out lists what stdout must hold.
		out []string
		// check, if not nil, checks the lines the client sent.
		check func(t *testing.T, sent []string)
	}{
		{
			name: "IMAP SASL-IR PLAIN",
			cfg:  fakeConfig{mechs: []string{"PLAIN"}, saslIR: true},
			args: append([]string{"-mech", "PLAIN", "-insecure"}, pw...),
			sent: []string{"a1 CAPABILITY", "a2 AUTHENTICATE PLAIN " + plainIR, "a3 LOGOUT"},
			out:  []string{"C: <redacted: 12 octets>", "> a2 AUTHENTICATE PLAIN <redacted: 12 octets>", "outcome: success"},
		},
		{
			name: "IMAP no SASL-IR PLAIN",
			cfg:  fakeConfig{mechs: []string{"PLAIN"}},
			args: append([]string{"-mech", "PLAIN", "-insecure"}, pw...),
			sent: []string{"a2 AUTHENTICATE PLAIN", plainIR},
			out:  []string{`S: "" (empty)`, "outcome: success"},
		},
		{
			name: "IMAP SASL-IR -no-ir PLAIN",
			cfg:  fakeConfig{mechs: []string{"PLAIN"}, saslIR: true},
			args: append([]string{"-mech", "PLAIN", "-insecure", "-no-ir"}, pw...),
			sent: []string{"a2 AUTHENTICATE PLAIN", plainIR},
		},
		{
			name: "IMAP SASL-IR empty initial response",
			cfg:  fakeConfig{mechs: []string{"ANONYMOUS"}, saslIR: true},
			args: []string{"-mech", "ANONYMOUS"},
			sent: []string{"a2 AUTHENTICATE ANONYMOUS ="},
		},
		{
			name:    "IMAP no SASL-IR empty response",
			cfg:     fakeConfig{mechs: []string{"ANONYMOUS"}},
			args:    []string{"-mech", "ANONYMOUS"},
			sent:    []string{"a2 AUTHENTICATE ANONYMOUS", ""},
			notSent: []string{"="},
		},
		{
			name: "IMAP ANONYMOUS trace picked without credentials",
			cfg:  fakeConfig{mechs: []string{"PLAIN", "ANONYMOUS"}, saslIR: true},
			args: []string{"-trace", "me@example.org", "-insecure"},
			sent: []string{"a2 AUTHENTICATE ANONYMOUS " + session.Encode([]byte("me@example.org"))},
			out:  []string{"mechanism: ANONYMOUS"},
		},
		{
			name: "IMAP CRAM-MD5 has no initial response",
			cfg:  fakeConfig{mechs: []string{"CRAM-MD5"}, saslIR: true},
			args: append([]string{"-mech", "cram-md5"}, pw...),
			sent: []string{"a2 AUTHENTICATE CRAM-MD5"},
			out:  []string{"mechanism: CRAM-MD5", "outcome: success"},
		},
		{
			name: "IMAP LOGIN",
			cfg:  fakeConfig{mechs: []string{"LOGIN"}, saslIR: true},
			args: append([]string{"-mech", "LOGIN", "-insecure"}, pw...),
			sent: []string{"a2 AUTHENTICATE LOGIN", userB64, passB64},
		},
		{
			name: "IMAP PLAIN wrong password",
			cfg:  fakeConfig{mechs: []string{"PLAIN"}, saslIR: true},
			args: append([]string{"-mech", "PLAIN", "-insecure"}, wrongPW...),
			want: 1,
			out:  []string{"S: failure: a2 NO", "outcome: authentication failed"},
		},
		{
			name:    "IMAP PLAIN refused without TLS",
			cfg:     fakeConfig{mechs: []string{"PLAIN"}, saslIR: true},
			args:    append([]string{"-mech", "PLAIN"}, pw...),
			want:    2,
			notSent: []string{"a2 AUTHENTICATE PLAIN " + plainIR},
		},
		{
			name: "IMAP SCRAM picked and verified",
			cfg:  fakeConfig{mechs: []string{"PLAIN", "SCRAM-SHA-256"}, saslIR: true},
			args: append([]string{"-insecure"}, pw...),
			out:  []string{"mechanism: SCRAM-SHA-256", `S: "v=`, `C: "" (empty)`, "outcome: success"},
		},
		{
			name: "IMAP SCRAM server never proves itself",
			cfg:  fakeConfig{mechs: []string{"SCRAM-SHA-256"}, saslIR: true, omitFinal: true},
			args: pw,
			want: 1,
			out:  []string{"S: success", "outcome: client rejected the server", "did not prove itself"},
		},
		{
			name: "IMAP SCRAM wrong password",
			cfg:  fakeConfig{mechs: []string{"SCRAM-SHA-256"}, saslIR: true},
			args: wrongPW,
			want: 1,
			out:  []string{`S: "e=invalid-proof"`, "e=invalid-proof", "outcome: authentication failed"},
		},
		{
			name: "IMAP cancel on bad base64",
			cfg:  fakeConfig{mechs: []string{"PLAIN"}, badChallenge: "not base64!"},
			args: append([]string{"-mech", "PLAIN", "-insecure"}, pw...),
			want: 1,
			sent: []string{"a2 AUTHENTICATE PLAIN", "*", "a3 LOGOUT"},
			out:  []string{"C: cancel:", "a2 BAD"},
		},
		{
			name: "IMAP cancel on bad SCRAM challenge",
			cfg:  fakeConfig{mechs: []string{"SCRAM-SHA-256"}, saslIR: true, badChallenge: session.Encode([]byte("x=garbage"))},
			args: pw,
			want: 1,
			sent: []string{"*"},
			out:  []string{"C: cancel:", "invalid challenge"},
		},
		{
			name:  "IMAP OAUTHBEARER",
			cfg:   fakeConfig{mechs: []string{"OAUTHBEARER"}, saslIR: true},
			args:  []string{"-user", "user", "-token", "tok123", "-insecure"},
			out:   []string{"mechanism: OAUTHBEARER", "C: <redacted: ", "outcome: success"},
			check: sentHostPort,
		},
		{
			name: "IMAP OAUTHBEARER bad token",
			cfg:  fakeConfig{mechs: []string{"OAUTHBEARER"}, saslIR: true},
			args: []string{"-user", "user", "-token", "wrong", "-insecure"},
			want: 1,
			sent: []string{"AQ=="},
			out:  []string{`status: "invalid_token"`, "outcome: authentication failed"},
		},
		{
			name: "IMAP XOAUTH2 bad token",
			cfg:  fakeConfig{mechs: []string{"XOAUTH2"}, saslIR: true},
			args: []string{"-user", "user", "-token", "wrong", "-insecure"},
			want: 1,
			sent: []string{""},
			out:  []string{`status: "401"`, `schemes: "bearer"`},
		},
		{
			// A bearer token is a reusable secret: not sent in the
			// clear, and not even picked.
			name:  "IMAP OAUTHBEARER refused without TLS",
			cfg:   fakeConfig{mechs: []string{"OAUTHBEARER", "XOAUTH2"}, saslIR: true},
			args:  []string{"-user", "user", "-token", "tok123"},
			want:  2,
			check: noAuthentication,
			out:   []string{"server offers: OAUTHBEARER XOAUTH2"},
		},
		{
			name:  "IMAP -mech OAUTHBEARER refused without TLS",
			cfg:   fakeConfig{mechs: []string{"OAUTHBEARER"}, saslIR: true},
			args:  []string{"-mech", "OAUTHBEARER", "-user", "user", "-token", "tok123"},
			want:  2,
			check: noAuthentication,
		},
		{
			name:  "IMAP -mech XOAUTH2 refused without TLS",
			cfg:   fakeConfig{mechs: []string{"XOAUTH2"}},
			args:  []string{"-mech", "xoauth2", "-user", "user", "-token", "tok123"},
			want:  2,
			check: noAuthentication,
		},
		{
			name: "IMAP STARTTLS OAUTHBEARER",
			cfg:  fakeConfig{mechs: []string{"PLAIN", "OAUTHBEARER"}, saslIR: true, starttls: true},
			pki:  true,
			args: []string{"-starttls", "-user", "user", "-token", "tok123"},
			out:  []string{"mechanism: OAUTHBEARER", "outcome: success"},
		},
		{
			name: "IMAP STARTTLS picks SCRAM-SHA-256-PLUS",
			cfg:  fakeConfig{mechs: []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"}, saslIR: true, starttls: true},
			pki:  true,
			args: append([]string{"-starttls"}, pw...),
			sent: []string{"a1 CAPABILITY", "a2 STARTTLS", "a3 CAPABILITY", "a4 AUTHENTICATE SCRAM-SHA-256-PLUS ...", "", "a5 LOGOUT"},
			out:  []string{"mechanism: SCRAM-SHA-256-PLUS", `C: "p=tls-exporter,,n=user`, "outcome: success"},
		},
		{
			name: "IMAP STARTTLS PLAIN without -insecure",
			cfg:  fakeConfig{mechs: []string{"PLAIN"}, saslIR: true, starttls: true},
			pki:  true,
			args: append([]string{"-starttls", "-mech", "PLAIN"}, pw...),
			sent: []string{"a4 AUTHENTICATE PLAIN " + plainIR},
		},
		{
			name: "IMAP TLS EXTERNAL picked with a client certificate",
			cfg:  fakeConfig{mechs: []string{"PLAIN", "EXTERNAL"}, saslIR: true, tls: true},
			pki:  true,
			args: []string{"-tls", "-cert", "CLIENT", "-key", "KEY"},
			sent: []string{"a2 AUTHENTICATE EXTERNAL ="},
			out:  []string{"mechanism: EXTERNAL", "outcome: success"},
		},
		{
			name: "IMAP STARTTLS not offered",
			cfg:  fakeConfig{mechs: []string{"PLAIN"}},
			pki:  true,
			args: append([]string{"-starttls"}, pw...),
			want: 2,
		},

		{
			name: "SMTP PLAIN",
			cfg:  fakeConfig{smtp: true, mechs: []string{"PLAIN"}},
			args: append([]string{"-mech", "PLAIN", "-insecure"}, pw...),
			sent: []string{"EHLO localhost", "AUTH PLAIN " + plainIR, "QUIT"},
			out:  []string{"S: success: 235", "outcome: success"},
		},
		{
			name: "SMTP -no-ir PLAIN",
			cfg:  fakeConfig{smtp: true, mechs: []string{"PLAIN"}},
			args: append([]string{"-mech", "PLAIN", "-insecure", "-no-ir"}, pw...),
			sent: []string{"AUTH PLAIN", plainIR},
		},
		{
			name: "SMTP empty initial response",
			cfg:  fakeConfig{smtp: true, mechs: []string{"ANONYMOUS"}},
			args: []string{"-mech", "ANONYMOUS"},
			sent: []string{"AUTH ANONYMOUS ="},
		},
		{
			name: "SMTP LOGIN",
			cfg:  fakeConfig{smtp: true, mechs: []string{"LOGIN"}},
			args: append([]string{"-mech", "LOGIN", "-insecure"}, pw...),
			sent: []string{"AUTH LOGIN", userB64, passB64},
		},
		{
			name: "SMTP SCRAM",
			cfg:  fakeConfig{smtp: true, mechs: []string{"SCRAM-SHA-256"}},
			args: pw,
			out:  []string{`S: "v=`, "outcome: success"},
		},
		{
			name: "SMTP SCRAM server never proves itself",
			cfg:  fakeConfig{smtp: true, mechs: []string{"SCRAM-SHA-256"}, omitFinal: true},
			args: pw,
			want: 1,
			out:  []string{"did not prove itself"},
		},
		{
			name: "SMTP SCRAM wrong password",
			cfg:  fakeConfig{smtp: true, mechs: []string{"SCRAM-SHA-256"}},
			args: wrongPW,
			want: 1,
			out:  []string{"S: failure: 535", "e=invalid-proof"},
		},
		{
			name: "SMTP cancel",
			cfg:  fakeConfig{smtp: true, mechs: []string{"LOGIN"}, badChallenge: "%%%"},
			args: append([]string{"-mech", "LOGIN", "-insecure"}, pw...),
			want: 1,
			sent: []string{"AUTH LOGIN", "*", "QUIT"},
			out:  []string{"S: 501"},
		},
		{
			name: "SMTP OAUTHBEARER bad token",
			cfg:  fakeConfig{smtp: true, mechs: []string{"OAUTHBEARER"}},
			args: []string{"-user", "user", "-token", "wrong", "-insecure"},
			want: 1,
			sent: []string{"AQ=="},
			out:  []string{`status: "invalid_token"`},
		},
		{
			name:  "SMTP OAUTHBEARER refused without TLS",
			cfg:   fakeConfig{smtp: true, mechs: []string{"OAUTHBEARER"}},
			args:  []string{"-mech", "OAUTHBEARER", "-user", "user", "-token", "tok123"},
			want:  2,
			check: noAuthentication,
		},
		{
			name: "SMTP STARTTLS",
			cfg:  fakeConfig{smtp: true, mechs: []string{"PLAIN"}, starttls: true},
			pki:  true,
			args: append([]string{"-starttls"}, pw...),
			sent: []string{"EHLO localhost", "STARTTLS", "EHLO localhost", "AUTH PLAIN " + plainIR},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pki *testPKI
			args := []string{"-v"}
			if tt.pki {
				pki = newPKI(t)
				args = append(args, "-cafile", pki.caFile)
			}
			srv := startFake(t, tt.cfg, pki)
			if tt.cfg.smtp {
				args = append(args, "-smtp", srv.addr)
			} else {
				args = append(args, "-imap", srv.addr)
			}
			for _, a := range tt.args {
				switch {
				case a == "CLIENT":
					a = pki.clientCert
				case a == "KEY":
					a = pki.clientK
				}
				args = append(args, a)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			sent := srv.sent(t)
			if code != tt.want {
				t.Errorf("exit status %d, want %d", code, tt.want)
			}
			if !inOrder(sent, tt.sent) {
				t.Errorf("client sent %q, want %q in that order", sent, tt.sent)
			}
			for _, l := range tt.notSent {
				if slices.Contains(sent, l) {
					t.Errorf("client sent %q", l)
				}
			}
			for _, s := range tt.out {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q", s)
				}
			}
			if tt.check != nil {
				tt.check(t, sent)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
		})
	}
}

// sentHostPort checks that the OAUTHBEARER initial response names the
// server's host and port.
func sentHostPort(t *testing.T, sent []string) {
	t.Helper()
	for _, l := range sent {
		if b64, ok := strings.CutPrefix(l, "a2 AUTHENTICATE OAUTHBEARER "); ok {
			msg, err := session.Decode([]byte(b64), 0)
			if err != nil || !strings.Contains(string(msg), "\x01host=127.0.0.1\x01port=") {
				t.Errorf("OAUTHBEARER initial response %q, %v: want the host and port", msg, err)
			}
			return
		}
	}
	t.Errorf("no OAUTHBEARER initial response in %q", sent)
}

// noAuthentication checks that the client never started an exchange.
func noAuthentication(t *testing.T, sent []string) {
	t.Helper()
	for _, l := range sent {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], "AUTH") || len(f) > 1 && strings.EqualFold(f[1], "AUTHENTICATE") {
			t.Errorf("client sent %q", l)
		}
	}
}

// TestRedaction runs the mechanisms that send a password or a bearer
// token in the clear, with -v, and checks that neither the secret nor its
// base64, nor the base64 of the messages that carry it, is printed.
func TestRedaction(t *testing.T) {
	const (
		password = "pencil"
		token    = "tok123"
	)
	secrets := []string{
		password, token,
		session.Encode([]byte(password)), session.Encode([]byte(token)),
		plainIR, passB64,
		session.Encode([]byte("user=user\x01auth=Bearer tok123\x01\x01")),
	}
	tests := []struct {
		name string
		cfg  fakeConfig
		pki  bool
		args []string
	}{
		{"IMAP PLAIN SASL-IR", fakeConfig{mechs: []string{"PLAIN"}, saslIR: true}, false, []string{"-mech", "PLAIN", "-insecure"}},
		{"IMAP PLAIN", fakeConfig{mechs: []string{"PLAIN"}}, false, []string{"-mech", "PLAIN", "-insecure"}},
		{"IMAP LOGIN", fakeConfig{mechs: []string{"LOGIN"}}, false, []string{"-mech", "LOGIN", "-insecure"}},
		{"IMAP XOAUTH2", fakeConfig{mechs: []string{"XOAUTH2"}, saslIR: true}, false, []string{"-mech", "XOAUTH2", "-insecure"}},
		{"IMAP OAUTHBEARER", fakeConfig{mechs: []string{"OAUTHBEARER"}}, false, []string{"-mech", "OAUTHBEARER", "-insecure"}},
		{"IMAP STARTTLS PLAIN", fakeConfig{mechs: []string{"PLAIN"}, saslIR: true, starttls: true}, true, []string{"-starttls"}},
		{"IMAP STARTTLS OAUTHBEARER", fakeConfig{mechs: []string{"OAUTHBEARER"}, saslIR: true, starttls: true}, true, []string{"-starttls"}},
		{"SMTP PLAIN", fakeConfig{smtp: true, mechs: []string{"PLAIN"}}, false, []string{"-mech", "PLAIN", "-insecure"}},
		{"SMTP PLAIN -no-ir", fakeConfig{smtp: true, mechs: []string{"PLAIN"}}, false, []string{"-mech", "PLAIN", "-insecure", "-no-ir"}},
		{"SMTP LOGIN", fakeConfig{smtp: true, mechs: []string{"LOGIN"}}, false, []string{"-mech", "LOGIN", "-insecure"}},
		{"SMTP XOAUTH2", fakeConfig{smtp: true, mechs: []string{"XOAUTH2"}}, false, []string{"-mech", "XOAUTH2", "-insecure"}},
		{"SMTP OAUTHBEARER", fakeConfig{smtp: true, mechs: []string{"OAUTHBEARER"}}, false, []string{"-mech", "OAUTHBEARER", "-insecure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pki *testPKI
			args := []string{"-v", "-user", "user", "-password", password, "-token", token}
			if tt.pki {
				pki = newPKI(t)
				args = append(args, "-cafile", pki.caFile)
			}
			srv := startFake(t, tt.cfg, pki)
			if tt.cfg.smtp {
				args = append(args, "-smtp", srv.addr)
			} else {
				args = append(args, "-imap", srv.addr)
			}
			args = append(args, tt.args...)
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			srv.sent(t)
			out := stdout.String() + stderr.String()
			if code != 0 || !strings.Contains(out, "outcome: success") {
				t.Errorf("exit status %d, want a success", code)
			}
			if !strings.Contains(out, "> ") || !strings.Contains(out, "<redacted: ") {
				t.Errorf("no protocol trace with redacted messages")
			}
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("output holds %q", s)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// inOrder reports whether want is a subsequence of got, where a line of
// want that ends in "..." matches the lines it is a prefix of.
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i == len(want) {
			break
		}
		if w, ok := strings.CutSuffix(want[i], "..."); ok && strings.HasPrefix(g, w) || g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestUsage(t *testing.T) {
	// An address nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"-h"}, 0},
		{"no server", []string{"-user", "user"}, 2},
		{"both servers", []string{"-imap", "127.0.0.1:1", "-smtp", "127.0.0.1:1"}, 2},
		{"starttls and tls", []string{"-imap", "127.0.0.1:1", "-starttls", "-tls"}, 2},
		{"cert without key", []string{"-imap", "127.0.0.1:1", "-cert", "c.pem"}, 2},
		{"bad address", []string{"-imap", "nowhere"}, 2},
		{"extra argument", []string{"-imap", "127.0.0.1:1", "PLAIN"}, 2},
		{"unknown flag", []string{"-nope"}, 2},
		{"missing cafile", []string{"-imap", closed, "-cafile", "/nonexistent/ca.pem"}, 2},
		{"connection refused", []string{"-imap", closed, "-user", "user", "-password", "pencil"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.args, &stdout, &stderr); got != tt.want {
				t.Errorf("run(%q) = %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, got, tt.want, stdout.String(), stderr.String())
			}
		})
	}
}

func TestUnknownMechanism(t *testing.T) {
	srv := startFake(t, fakeConfig{mechs: []string{"PLAIN"}, saslIR: true}, nil)
	var stdout, stderr bytes.Buffer
	if got := run([]string{"-imap", srv.addr, "-mech", "NOPE", "-user", "u", "-password", "p"}, &stdout, &stderr); got != 2 {
		t.Errorf("exit status %d, want 2\n%s%s", got, stdout.String(), stderr.String())
	}
	srv.sent(t)
}

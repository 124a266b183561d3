package interop

import (
	"errors"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// How the client is told about gsasl's server-final message.
type finalMode int

const (
	// finalAsData: Client.SuccessData with the "v=" line, as in protocols
	// whose success reply carries data (SMTP 235 cannot; XMPP, LDAP can).
	finalAsData finalMode = iota
	// finalAsChallenge: Client.Next with the "v=" line, then
	// Client.Success, as in IMAP, where "v=" comes as a last "+" challenge.
	finalAsChallenge
	// finalTampered: Client.SuccessData with a corrupted "v=", which the
	// client must refuse.
	finalTampered
)

// TestGsaslServer runs saslkit's SCRAM client against `gsasl --server`
// over its stdin and stdout.
func TestGsaslServer(t *testing.T) {
	gsasl := NeedTools(t, "gsasl")[0]
	cases := []struct {
		name     string
		password string
		mode     finalMode
	}{
		{"success-data", testPassword, finalAsData},
		{"final-as-challenge", testPassword, finalAsChallenge},
		{"tampered-v", testPassword, finalTampered},
		{"wrong-password", "wrong", finalAsData},
	}
	for _, m := range pipeMechs {
		for _, tc := range cases {
			t.Run(m.name()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				gsaslServer(t, gsasl, m, tc.password, tc.mode)
			})
		}
	}
}

func gsaslServer(t *testing.T, gsasl string, m scramMech, password string, mode finalMode) {
	name := m.name()
	args := []string{"--server", "-d", "--quiet", "-m", name, "-p", testPassword}
	var ch mech.Channel
	cb := randomBytes(t, 32)
	if m.plus {
		ch = exporterChannel(cb)
	} else {
		args = append(args, "--no-cb")
	}
	p := Start(t, nil, gsasl, args...)
	ctx := p.Context()
	if got := readLine(t, p); got != name {
		t.Fatalf("gsasl announced %q, want %q", got, name)
	}
	// Client-first: the server's first challenge is empty.
	if got := readLine(t, p); got != "" {
		t.Fatalf("gsasl's first challenge is %q, want empty", got)
	}

	c := session.NewClient(scram.Mechanism{Hash: m.hash, Plus: m.plus},
		creds.Client{Authcid: testUser, Password: password}, ch, nil)
	ir, ok, err := c.Start(ctx)
	if err != nil || !ok {
		t.Fatalf("Start: %v, %v", ok, err)
	}
	writeLine(t, p, session.Encode(ir))
	if m.plus {
		answerCBPrompt(t, p, mech.TLSExporter, cb)
	}
	resp, err := c.Next(ctx, readB64(t, p))
	if err != nil {
		t.Fatalf("Next(server-first): %v", err)
	}
	writeLine(t, p, session.Encode(resp))

	line, err := p.ReadLine()
	if password != testPassword {
		// gsasl writes no server-final message on failure; it exits 1.
		if err == nil {
			if serr := c.SuccessData(ctx, decodeLine(t, "gsasl", line)); serr == nil {
				t.Fatalf("client accepted gsasl's %q with a wrong password", line)
			}
		} else if serr := c.Success(ctx); !errors.Is(serr, mech.ErrAuthFailed) {
			t.Fatalf("Success without server-final: %v, want ErrAuthFailed", serr)
		}
		wantExit(t, p, 1)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	final := decodeLine(t, "gsasl", line)
	switch mode {
	case finalAsData:
		if err := c.SuccessData(ctx, final); err != nil {
			t.Fatalf("SuccessData(%q): %v", final, err)
		}
	case finalAsChallenge:
		resp, err := c.Next(ctx, final)
		if err != nil || len(resp) != 0 {
			t.Fatalf("Next(%q) = %q, %v; want an empty response", final, resp, err)
		}
		if err := c.Success(ctx); err != nil {
			t.Fatalf("Success after a verified v=: %v", err)
		}
	case finalTampered:
		if err := c.SuccessData(ctx, tamper(t, final)); !errors.Is(err, mech.ErrAuthFailed) {
			t.Fatalf("SuccessData(tampered v=): %v, want ErrAuthFailed", err)
		}
	}
	// gsasl reads one more line after its final data.
	writeLine(t, p, "")
	wantExit(t, p, 0)
}

// TestGsaslClient runs `gsasl --client` against saslkit's SCRAM server
// over its stdin and stdout.
func TestGsaslClient(t *testing.T) {
	gsasl := NeedTools(t, "gsasl")[0]
	cases := []struct {
		name     string
		user     string
		password string
		tamperV  bool // corrupt our v= to see that gsasl checks it
		authzid  string
	}{
		{"success", testUser, testPassword, false, ""},
		{"authzid-self", testUser, testPassword, false, testUser},
		{"authzid-other", testUser, testPassword, false, "admin"},
		{"tampered-v", testUser, testPassword, true, ""},
		{"wrong-password", testUser, "wrong", false, ""},
		{"unknown-user", "nobody", testPassword, false, ""},
	}
	for _, m := range pipeMechs {
		for _, tc := range cases {
			t.Run(m.name()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				gsaslClient(t, gsasl, m, tc.user, tc.password, tc.authzid, tc.tamperV)
			})
		}
	}
}

func gsaslClient(t *testing.T, gsasl string, m scramMech, user, password, authzid string, tamperV bool) {
	name := m.name()
	args := []string{"--client", "-d", "--quiet", "-m", name, "-a", user, "-p", password}
	if authzid != "" {
		args = append(args, "-z", authzid)
	}
	var ch mech.Channel
	cb := randomBytes(t, 32)
	if m.plus {
		ch = exporterChannel(cb)
	} else {
		args = append(args, "--no-cb")
	}
	srv, err := session.NewServer(scram.Mechanism{Hash: m.hash, Plus: m.plus}, ch, &session.Config{Verifier: newVerifier(t, m.hash)})
	if err != nil {
		t.Fatal(err)
	}
	p := Start(t, nil, gsasl, args...)
	ctx := p.Context()
	if got := readLine(t, p); got != name {
		t.Fatalf("gsasl announced %q, want %q", got, name)
	}
	if m.plus {
		answerCBPrompt(t, p, mech.TLSExporter, cb)
	}
	step, err := srv.StartInitial(ctx, readB64(t, p))
	if err != nil || step.Done {
		t.Fatalf("StartInitial: done %v, %v", step.Done, err)
	}
	writeLine(t, p, session.Encode(step.Challenge))
	step, err = srv.Next(ctx, readB64(t, p))

	if user != testUser || password != testPassword {
		// A wrong password and an unknown user fail alike.
		var fe *mech.FailureError
		if !errors.As(err, &fe) || !errors.Is(err, creds.ErrBadCredentials) {
			t.Fatalf("Next(client-final) = %+v, %v; want a FailureError wrapping ErrBadCredentials", step, err)
		}
		if got, want := string(fe.Data), "e=invalid-proof"; got != want {
			t.Fatalf("failure data %q, want %q", got, want)
		}
		// gsasl 2.2.0 parses only "v=" server-final messages: on e= it
		// exits 1 at once with "mechanism error: SASL mechanism could
		// not parse input".
		writeLine(t, p, session.Encode(fe.Data))
		wantExit(t, p, -1)
		return
	}
	if authzid != "" && authzid != user {
		// The proof verified, but the default policy (creds.SelfOnly)
		// refuses another identity. That is no SCRAM e= value: the
		// protocol says NO. Over pipes, gsasl sees its input end.
		if !errors.Is(err, creds.ErrUnauthorized) {
			t.Fatalf("Next(client-final) = %+v, %v; want ErrUnauthorized", step, err)
		}
		wantExit(t, p, -1)
		return
	}
	if err != nil {
		t.Fatalf("Next(client-final): %v", err)
	}
	if !step.Done || !step.HasFinal {
		t.Fatalf("Next(client-final) = %+v, want done, with final data", step)
	}
	// An authzid that names the account itself is dropped.
	if got := step.Principal.Authzid(); got != "" {
		t.Errorf("authzid %q, want none (asked for %q)", got, authzid)
	}
	if got := step.Principal.Account(); got != testUser {
		t.Fatalf("account %q, want %q", got, testUser)
	}
	final := step.Final
	if tamperV {
		final = tamper(t, final)
	}
	writeLine(t, p, session.Encode(final))
	if tamperV {
		// gsasl exits 1 at once: "mechanism error: Error
		// authenticating user".
		wantExit(t, p, -1)
		return
	}
	// gsasl reads one more line after the server-final message; at the
	// end of its input instead it exits 1 without a word.
	writeLine(t, p, "")
	wantExit(t, p, 0)
}

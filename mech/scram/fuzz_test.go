package scram_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// fuzzError checks that err is one of the typed errors a SCRAM exchange may
// give, and that it does not quote the input.
func fuzzError(t *testing.T, err error, input []byte) {
	t.Helper()
	var me *mech.Error
	var fe *mech.FailureError
	var le *session.LimitError
	var se *scram.ServerError
	if !errors.As(err, &me) && !errors.As(err, &fe) && !errors.As(err, &le) && !errors.As(err, &se) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	if len(input) >= 8 && strings.Contains(err.Error(), string(input)) {
		t.Fatalf("error %q quotes the input", err)
	}
}

// FuzzServerFirst feeds arbitrary client-first messages to a server.
func FuzzServerFirst(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.ClientFirst))
	}
	for _, s := range []string{"y,,n=user,r=abc", "p=tls-exporter,a=u,n=user,r=abc", "n,,m=x,n=u,r=a", "n,,n=a=2Cb,r=a,x=y", "n,,n=user,r=abc,"} {
		f.Add([]byte(s))
	}
	cfg := newConfig(f, 4096, scram.SHA256)
	ch := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("ekm")}}}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, m := range []scram.Mechanism{{}, {Plus: true}} {
			for _, c := range []mech.Channel{{}, ch} {
				srv, err := session.NewServer(m, c, cfg)
				if err != nil {
					t.Fatal(err)
				}
				step, err := srv.StartInitial(ctx, msg)
				if err != nil {
					if step.Done || step.Principal != nil {
						t.Fatal("error with a principal")
					}
					fuzzError(t, err, msg)
					continue
				}
				if step.Done || !bytes.HasPrefix(step.Challenge, []byte("r=")) {
					t.Fatalf("bad server-first %q", step.Challenge)
				}
			}
		}
	})
}

// FuzzServerFinal replaces the client-final message of a good exchange and
// checks that only the genuine message succeeds.
func FuzzServerFinal(f *testing.F) {
	v := loadVectors(f)[1]
	f.Add([]byte(v.ClientFinal))
	f.Add([]byte("c=biws,r=x,p=AAAA"))
	f.Add([]byte(v.ClientFinal + ",x=y"))
	f.Add([]byte(strings.Replace(v.ClientFinal, "c=biws", "c=eSws", 1)))
	f.Fuzz(func(t *testing.T, msg []byte) {
		srvMech, _, ver := vectorMechs(t, v)
		srv, err := session.NewServer(srvMech, mech.Channel{}, &session.Config{Verifier: ver})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.StartInitial(ctx, []byte(v.ClientFirst)); err != nil {
			t.Fatal(err)
		}
		step, err := srv.Next(ctx, msg)
		if err != nil {
			if step.Done || step.Principal != nil {
				t.Fatal("error with a principal")
			}
			fuzzError(t, err, msg)
			return
		}
		if !bytes.Equal(msg, []byte(v.ClientFinal)) {
			t.Fatalf("accepted a forged client-final %q", msg)
		}
		if p := step.Principal; !step.Done || p.Account() != v.User || p.Mechanism() != v.Mech {
			t.Fatalf("principal %v", p)
		}
		// The session is over: further steps error, never panic.
		if _, err := srv.Next(ctx, msg); !errors.Is(err, session.ErrFinished) {
			t.Fatalf("Next after done: %v", err)
		}
	})
}

// FuzzClientFirst feeds arbitrary server-first messages to a client.
func FuzzClientFirst(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.ServerFirst))
	}
	f.Add([]byte("e=other-error"))
	f.Add([]byte("r=abcdefghijklmnopqrstuvwxSRV,s=QSXCR+Q6sek8bf92,i=4096,x=y"))
	f.Add([]byte("m=x,r=abc,s=QSXCR+Q6sek8bf92,i=4096"))
	f.Fuzz(func(t *testing.T, sf []byte) {
		m := scram.Mechanism{Rand: strings.NewReader("rOprNGfwEbeRWgbNEkqO"), NonceLen: 20, MaxIterations: 20000}
		cli := session.NewClient(m, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, nil)
		ir, _, err := cli.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Next(ctx, sf)
		if err != nil {
			fuzzError(t, err, sf)
			return
		}
		switch {
		case len(sf) == 0:
			// The server asks for the initial response it did not get.
			if !bytes.Equal(resp, ir) {
				t.Fatalf("empty challenge after Start answered %q, want the client-first message", resp)
			}
		case cli.Failure() == nil && !bytes.HasPrefix(resp, []byte("c=")):
			t.Fatalf("bad client-final %q", resp)
		}
		// No v= yet: the client must not accept success.
		if err := cli.Success(ctx); err == nil {
			t.Fatal("client accepted success without a server signature")
		}
	})
}

// FuzzClientFinal feeds arbitrary server-final messages to a client that
// sent the RFC 7677 client-final: only the genuine v= verifies.
func FuzzClientFinal(f *testing.F) {
	v := loadVectors(f)[1]
	f.Add([]byte(v.ServerFinal))
	f.Add([]byte("e=invalid-proof"))
	f.Add([]byte("v=AAAA"))
	f.Add([]byte(v.ServerFinal + ",x=y"))
	f.Fuzz(func(t *testing.T, final []byte) {
		_, cliMech, _ := vectorMechs(t, v)
		cli := session.NewClient(cliMech, creds.Client{Authcid: v.User, Password: v.Password}, mech.Channel{}, nil)
		if _, _, err := cli.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Next(ctx, []byte(v.ServerFirst)); err != nil {
			t.Fatal(err)
		}
		err := cli.SuccessData(ctx, final)
		if err != nil {
			fuzzError(t, err, final)
			return
		}
		if !bytes.HasPrefix(final, []byte(v.ServerFinal)) {
			t.Fatalf("accepted a forged server-final %q", final)
		}
	})
}

// FuzzParseStored feeds arbitrary stored-key strings to
// creds.ParseSCRAMKeys and checks that keys it accepts serve the SCRAM
// mechanism of their hash: a store takes them if their iteration count is
// one clients accept, and the server's first message offers their salt and
// iteration count. (The parser's round trip is fuzzed in package creds.)
func FuzzParseStored(f *testing.F) {
	f.Add("{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=")
	f.Add("SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=")
	f.Add("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")
	f.Add("{SCRAM-SHA-1}1,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := creds.ParseSCRAMKeys(s)
		if err != nil {
			if !errors.Is(err, creds.ErrBadSCRAMKeys) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		h, plus, ok := scram.HashByName("SCRAM-" + k.Hash)
		if !ok || plus {
			t.Fatalf("parsed keys of hash %q, which no SCRAM mechanism has", k.Hash)
		}
		if len(k.StoredKey) != h.Size() || len(k.ServerKey) != h.Size() || len(k.Salt) == 0 {
			t.Fatalf("parsed keys that do not fit %s", h.Name())
		}
		store := &creds.MemoryStore{}
		err = store.Add(creds.Account{Name: "user", SCRAM: []creds.SCRAMKeys{k}})
		if k.Iterations < creds.MinSCRAMIterations {
			if !errors.Is(err, creds.ErrMisconfigured) {
				t.Fatalf("store took keys of %d iterations: %v", k.Iterations, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("store refused parsed keys: %v", err)
		}
		srv, err := session.NewServer(scram.Mechanism{Hash: h}, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: store}})
		if err != nil {
			t.Fatalf("%s over the parsed keys: %v", h.Mechanism(false), err)
		}
		step, err := srv.StartInitial(ctx, []byte("n,,n=user,r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		want := ",s=" + base64.StdEncoding.EncodeToString(k.Salt) + ",i=" + strconv.Itoa(k.Iterations)
		if !strings.HasSuffix(string(step.Challenge), want) {
			t.Fatalf("server-first %q does not offer %q", step.Challenge, want)
		}
	})
}

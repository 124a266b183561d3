package scram_test

import (
	"bytes"
	"errors"
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
	if !errors.As(err, &me) && !errors.As(err, &fe) && !errors.As(err, &le) && !errors.As(err, &se) && !errors.Is(err, scram.ErrBadKeys) {
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
	store := newStore(f, 4096, scram.SHA256)
	ch := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("ekm")}}}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, m := range []scram.Mechanism{{Store: store}, {Store: store, Plus: true}} {
			for _, c := range []mech.Channel{{}, ch} {
				step, err := session.NewServer(m, c, nil).StartInitial(ctx, msg)
				if err != nil {
					if step.Done || step.Creds != nil {
						t.Fatal("error with credentials")
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
		srvMech, _ := vectorMechs(t, v)
		srv := session.NewServer(srvMech, mech.Channel{}, nil)
		if _, err := srv.StartInitial(ctx, []byte(v.ClientFirst)); err != nil {
			t.Fatal(err)
		}
		step, err := srv.Next(ctx, msg)
		if err != nil {
			if step.Done || step.Creds != nil {
				t.Fatal("error with credentials")
			}
			fuzzError(t, err, msg)
			return
		}
		if !bytes.Equal(msg, []byte(v.ClientFinal)) {
			t.Fatalf("accepted a forged client-final %q", msg)
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
		if _, _, err := cli.Start(ctx); err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Next(ctx, sf)
		if err != nil {
			fuzzError(t, err, sf)
			return
		}
		if cli.Failure() == nil && !bytes.HasPrefix(resp, []byte("c=")) {
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
		_, cliMech := vectorMechs(t, v)
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

// FuzzParseStored feeds arbitrary stored-key strings to ParseStored and
// checks the round trip through Format.
func FuzzParseStored(f *testing.F) {
	f.Add("{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=")
	f.Add("SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=")
	f.Fuzz(func(t *testing.T, s string) {
		h, k, err := scram.ParseStored(s)
		if err != nil {
			if !errors.Is(err, scram.ErrBadKeys) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, enc := range []string{k.Format(h), k.FormatRFC5803(h)} {
			h2, k2, err := scram.ParseStored(enc)
			if err != nil || h2.Name() != h.Name() || !bytes.Equal(k2.StoredKey, k.StoredKey) || !bytes.Equal(k2.Salt, k.Salt) || k2.Iterations != k.Iterations {
				t.Fatalf("round trip of %q: %v", enc, err)
			}
		}
	})
}

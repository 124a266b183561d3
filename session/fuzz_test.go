package session_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// fuzzSep separates the messages of a FuzzSession input. 0xFF never occurs
// in UTF-8, so it is rarely part of a message the mechanisms accept.
const fuzzSep = 0xff

// Flags of a FuzzSession input.
const (
	fuzzInitial   = 1 << iota // the first message is an initial response
	fuzzFinal                 // Config.FinalAsChallenge
	fuzzStore                 // Config.Verifier and Config.Tokens
	fuzzSmallStep             // MaxSteps 2
)

// FuzzSession drives a server session of each built-in mechanism with an
// arbitrary sequence of messages and checks the session's contract: it
// never panics, it stops within its step limit, an error comes with no
// Done step, a Done step names an account that was verified (one of the
// store's, the token's subject or the transport's identity) or is
// anonymous, and once it is over every call fails with ErrFinished.
// Without a Verifier and token validator, every mechanism that checks a
// secret is refused when the session is built.
func FuzzSession(f *testing.F) {
	seeds := []struct {
		flags byte
		msgs  []string
	}{
		{fuzzInitial, []string{"\x00tim\x00tanstaaftanstaaf"}},
		{fuzzInitial | fuzzStore, []string{"\x00tim\x00tanstaaftanstaaf"}},
		{0, []string{"\x00tim\x00tanstaaftanstaaf"}},
		{0, []string{"testuser", "testpass"}},
		{fuzzStore, []string{"tim", "tanstaaftanstaaf"}},
		{fuzzInitial, []string{"testuser", "testpass"}},
		{0, []string{"tim b913a602c7eda7a495b4e6e7334d3890"}},
		{fuzzInitial, []string{"user=testuser\x01auth=Bearer testtoken\x01\x01"}},
		{fuzzInitial | fuzzStore, []string{"user=testuser\x01auth=Bearer testtoken\x01\x01"}},
		{fuzzInitial | fuzzStore, []string{"user=tim\x01auth=Bearer testtoken\x01\x01"}},
		{fuzzInitial | fuzzStore, []string{"n,a=tim,\x01auth=Bearer testtoken\x01\x01"}},
		{fuzzInitial | fuzzStore, []string{"n,,n=testuser,r=abcdefghijklmnop"}},
		{fuzzInitial | fuzzStore, []string{"tim\x00testuser\x00testpass"}},
		{fuzzInitial | fuzzStore, []string{"\x00ｔｉｍ\x00tanstaaftanstaaf"}},
		{fuzzInitial | fuzzStore, []string{"tim@example.com"}},
		{fuzzInitial | fuzzStore, []string{""}},
		{fuzzInitial | fuzzFinal, []string{"testuser", ""}},
		{fuzzInitial, []string{""}},
		{fuzzSmallStep, []string{"a", "b", "c", "d"}},
		{fuzzFinal | fuzzStore, []string{"x", "y", "z", "", "", "", "", "", "", "", ""}},
	}
	for _, s := range seeds {
		f.Add(s.flags, bytes.Join(toBytes(s.msgs), []byte{fuzzSep}))
	}
	var store creds.MemoryStore
	for _, a := range []struct{ name, password string }{{"tim", "tanstaaftanstaaf"}, {"testuser", "testpass"}} {
		var keys []creds.SCRAMKeys
		for _, h := range []string{"SHA-1", "SHA-256", "SHA-512", "SHA3-512"} {
			k, err := creds.DeriveSCRAMKeys(h, a.password, nil, creds.MinSCRAMIterations, false)
			if err != nil {
				f.Fatal(err)
			}
			keys = append(keys, k)
		}
		if err := store.Add(creds.Account{Name: a.name, Password: "{PLAIN}" + a.password, SCRAM: keys}); err != nil {
			f.Fatal(err)
		}
	}
	verifier := &creds.Verifier{Store: &store, Secret: []byte("fuzz secret, 32 octets long.....")}
	tokens := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if r.Token != "testtoken" {
			return &mech.TokenError{Status: "invalid_token"}
		}
		r.Subject = "testuser"
		return nil
	})
	// verified lists who a Done step may name: the store's accounts, the
	// token's subject, the transport's identity.
	verified := map[string]bool{"tim": true, "testuser": true, "CN=tim": true}

	f.Fuzz(func(t *testing.T, flags byte, data []byte) {
		msgs := bytes.Split(data, []byte{fuzzSep})
		cfg := &session.Config{FinalAsChallenge: flags&fuzzFinal != 0, MaxMessage: 1024}
		if flags&fuzzStore != 0 {
			cfg.Verifier = verifier
			cfg.Tokens = tokens
		}
		if flags&fuzzSmallStep != 0 {
			cfg.MaxSteps = 2
		}
		maxSteps := cfg.MaxSteps
		if maxSteps == 0 {
			maxSteps = session.DefaultMaxSteps
		}
		for _, name := range registry.BuiltinNames() {
			m, ok := registry.Builtin(name)
			if !ok {
				t.Fatalf("Builtin(%q) missing", name)
			}
			sm, ok := m.(mech.Server)
			if !ok {
				continue
			}
			s, err := session.NewServer(sm, mech.Channel{Secure: true, External: "CN=tim"}, cfg)
			if err != nil || s == nil {
				// Only what checks a secret can be refused, and only
				// without the Verifier and the token validator.
				_, needs := sm.(mech.ConfigChecker)
				if !errors.Is(err, creds.ErrMisconfigured) || flags&fuzzStore != 0 || !needs {
					t.Fatalf("%s: NewServer = %v, %v", name, s, err)
				}
				continue
			}
			var step session.Step
			rest := msgs
			if flags&fuzzInitial != 0 {
				step, err = s.StartInitial(ctx, rest[0])
				rest = rest[1:]
			} else {
				step, err = s.Start(ctx)
			}
			// Each success is one mechanism step, plus at most one for the
			// reply to data sent as a challenge.
			good := 0
			for {
				if err != nil {
					if step.Done || step.Principal != nil || step.Challenge != nil {
						t.Fatalf("%s: error %v with step %+v", name, err, step)
					}
					break
				}
				good++
				if good > maxSteps+1 {
					t.Fatalf("%s: %d steps, limit %d", name, good, maxSteps)
				}
				if step.Done {
					p := step.Principal
					if p == nil {
						t.Fatalf("%s: Done without a principal", name)
					}
					if p.Mechanism() != name {
						t.Fatalf("%s: principal of mechanism %s", name, p.Mechanism())
					}
					if p.Anonymous() != (name == "ANONYMOUS") || !p.Anonymous() && !verified[p.Account()] {
						t.Fatalf("%s: Done as %v, which nobody verified", name, p)
					}
					if p.Authzid() != "" {
						// SelfOnly lets an account act only as itself, and
						// an authzid naming the account is dropped.
						t.Fatalf("%s: Done as %v, acting as another identity", name, p)
					}
					break
				}
				if step.Principal != nil {
					t.Fatalf("%s: principal %v on a step that is not Done", name, step.Principal)
				}
				if len(rest) == 0 {
					break
				}
				step, err = s.Next(ctx, rest[0])
				rest = rest[1:]
			}
			if err == nil && !step.Done {
				// The input ran out mid-exchange: the session is still usable.
				continue
			}
			for _, msg := range append(rest, nil, []byte{}) {
				if _, err := s.Next(ctx, msg); !errors.Is(err, session.ErrFinished) {
					t.Fatalf("%s: Next after the end: %v, want ErrFinished", name, err)
				}
			}
			if _, err := s.Start(ctx); !errors.Is(err, session.ErrFinished) {
				t.Fatalf("%s: Start after the end: %v", name, err)
			}
			if _, err := s.StartInitial(ctx, nil); !errors.Is(err, session.ErrFinished) {
				t.Fatalf("%s: StartInitial after the end: %v", name, err)
			}
		}
	})
}

func toBytes(ss []string) [][]byte {
	b := make([][]byte, len(ss))
	for i, s := range ss {
		b[i] = []byte(s)
	}
	return b
}

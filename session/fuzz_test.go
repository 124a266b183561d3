package session_test

import (
	"bytes"
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
	fuzzStore                 // Config.Identities
	fuzzSmallStep             // MaxSteps 2
)

// FuzzSession drives a server session of each built-in mechanism with an
// arbitrary sequence of messages and checks the session's contract: it
// never panics, it stops within its step limit, an error comes with no
// Done step, and once it is over every call fails with ErrFinished.
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
		{fuzzInitial | fuzzFinal, []string{"testuser", ""}},
		{fuzzInitial, []string{""}},
		{fuzzSmallStep, []string{"a", "b", "c", "d"}},
		{fuzzFinal | fuzzStore, []string{"x", "y", "z", "", "", "", "", "", "", "", ""}},
	}
	for _, s := range seeds {
		f.Add(s.flags, bytes.Join(toBytes(s.msgs), []byte{fuzzSep}))
	}
	store := &creds.MapStore{}
	store.Add(creds.ClearIdentity{Name: "tim", Password: "tanstaaftanstaaf"})
	store.Add(creds.ClearIdentity{Name: "testuser", Password: "testpass"})

	f.Fuzz(func(t *testing.T, flags byte, data []byte) {
		msgs := bytes.Split(data, []byte{fuzzSep})
		cfg := &session.Config{FinalAsChallenge: flags&fuzzFinal != 0, MaxMessage: 1024}
		if flags&fuzzStore != 0 {
			cfg.Identities = store
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
			s := session.NewServer(sm, mech.Channel{Secure: true, External: "CN=tim"}, cfg)
			var step session.Step
			var err error
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
					if step.Done || step.Creds != nil || step.Challenge != nil {
						t.Fatalf("%s: error %v with step %+v", name, err, step)
					}
					break
				}
				good++
				if good > maxSteps+1 {
					t.Fatalf("%s: %d steps, limit %d", name, good, maxSteps)
				}
				if step.Done {
					if step.Creds == nil {
						t.Fatalf("%s: Done without credentials", name)
					}
					if cfg.Identities != nil && !step.Verified && !step.Creds.Anonymous() {
						t.Fatalf("%s: Done with a store but not verified", name)
					}
					break
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

package scram_test

import (
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/mechtest"
	"github.com/saslkit/saslkit/mech/scram"
)

// TestConformance holds every SCRAM mechanism, with and without -PLUS, to
// mechtest's properties.
func TestConformance(t *testing.T) {
	cfg := configOf(t, creds.Account{Name: "user", SCRAM: newKeys(t, "pencil", 4096, allHashes...)})
	bound := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: mech.TLSExporter, Data: []byte("0123456789abcdef0123456789abcdef")}}}
	// The client caches its derived keys, so that the few thousand
	// corrupted exchanges cost one PBKDF2 each for the good and the wrong
	// password.
	cache := &scram.KeyCache{}
	for _, h := range allHashes {
		for _, plus := range []bool{false, true} {
			m := scram.Mechanism{Hash: h, Plus: plus, Cache: cache}
			ch := mech.Channel{}
			if plus {
				ch = bound
			}
			t.Run(m.Name(), func(t *testing.T) {
				mechtest.Run(t, mechtest.Setup{
					Server: m, Client: m, Config: cfg,
					ServerChannel: ch, ClientChannel: ch,
					Creds:   creds.Client{Authcid: "user", Password: "pencil"},
					Account: "user",
					Wrong:   &creds.Client{Authcid: "user", Password: "wrong-password"},
					Unknown: &creds.Client{Authcid: "nobody", Password: "pencil"},
					// Only SHA-256 runs every corruption: the
					// others share its code.
					SkipCorruption: h.Name() != "SHA-256" && testing.Short(),
				})
			})
		}
	}
}

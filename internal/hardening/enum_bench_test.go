package hardening

import "testing"

// BenchmarkEnumeration measures the server's cost of rejecting a wrong
// secret for a known user and any secret for an unknown user, for each
// mechanism, with clear and with hashed (PBKDF2-SHA256, 10,000 rounds)
// identities. The two must cost the same: compare
// BenchmarkEnumeration/<mech>/<store>/wrong with .../unknown.
//
// Each op is one whole exchange, client included; the client's work is the
// same on both paths.
func BenchmarkEnumeration(b *testing.B) {
	for _, store := range []struct {
		name   string
		hashed bool
	}{{"clear", false}, {"hashed", true}} {
		reg := enumWorld(b, store.hashed)
		for _, name := range reg.Names() {
			if name == "CRAM-MD5" && store.hashed {
				continue
			}
			for _, path := range []struct{ name, user string }{{"wrong", user}, {"unknown", "nobody"}} {
				b.Run(name+"/"+store.name+"/"+path.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						attempt(b, reg, name, path.user, "wrong-secret")
					}
				})
			}
		}
	}
}

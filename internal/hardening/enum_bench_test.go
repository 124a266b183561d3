package hardening

import "testing"

// BenchmarkEnumeration measures the server's cost of rejecting a wrong
// secret for a known user and any secret for an unknown user, for every
// mechanism that checks a secret, over every store of TestEnumeration: one
// per password scheme (clear, PBKDF2, bcrypt, Argon2id, scrypt), SCRAM
// keys only, and the mixed stores. The two must cost the same: compare
// BenchmarkEnumeration/<store>/<mech>/wrong with .../unknown; in a mixed
// store there is one wrong-<kind> per kind of account. A mechanism that
// cannot run on a store (TestEnumeration checks that it is refused) has
// no benchmark there.
//
// Each op is one whole exchange, client included; the client's work is the
// same on both paths (SCRAM clients cache their derived keys).
func BenchmarkEnumeration(b *testing.B) {
	for _, spec := range storeSpecs {
		s := buildStore(b, spec)
		for _, name := range secretMechs() {
			if !spec.canRun(name) {
				continue
			}
			type path struct{ name, user string }
			var paths []path
			for _, k := range spec.kinds {
				p := path{"wrong", spec.known(k)}
				if len(spec.kinds) > 1 {
					p.name = "wrong-" + k.name
				}
				paths = append(paths, p)
			}
			paths = append(paths, path{"unknown", "nobody"})
			for _, p := range paths {
				b.Run(spec.name+"/"+name+"/"+p.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						attempt(b, s, name, p.user, "wrong-secret")
					}
				})
			}
		}
	}
}

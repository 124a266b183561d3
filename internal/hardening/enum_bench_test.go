package hardening

import (
	"testing"
	"time"
)

// BenchmarkEnumeration measures the server's cost of rejecting a wrong
// secret for a known user and any secret for an unknown user, for every
// mechanism that checks a secret, over every store of TestEnumeration: one
// per password scheme (clear, PBKDF2, bcrypt, Argon2id, scrypt), SCRAM
// keys only, and the mixed stores. A mechanism that cannot run on a store
// (TestEnumeration checks that it is refused) has no benchmark there.
//
// BenchmarkEnumeration/<store>/<mech>/<kind> compares an account of that
// kind (a mixed store has one sub-benchmark per kind) with an unknown
// user. Each iteration runs one exchange of each, in alternating order, and
// times them apart, so that the two are measured at the same moments: on a
// shared machine the speed drifts by more than the 10% the comparison is
// about between two benchmarks run one after the other. It reports
// wrong-ns/op, unknown-ns/op and their ratio unknown/wrong, which must be
// within 1.0 ± 0.1, and the allocations of each path (wrong-allocs/op,
// unknown-allocs/op); ns/op and allocs/op are the pair's.
//
// Each exchange is whole, client included; the client's work is the same
// on both paths (SCRAM clients cache their derived keys).
func BenchmarkEnumeration(b *testing.B) {
	for _, spec := range storeSpecs {
		s := buildStore(b, spec)
		for _, name := range secretMechs() {
			if !spec.canRun(name) {
				continue
			}
			for _, k := range spec.kinds {
				known := spec.known(k)
				b.Run(spec.name+"/"+name+"/"+k.name, func(b *testing.B) {
					b.ReportAllocs()
					// Allocations, which are exact, for each path apart.
					wa := testing.AllocsPerRun(5, func() { attempt(b, s, name, known, "wrong-secret") })
					ua := testing.AllocsPerRun(5, func() { attempt(b, s, name, "nobody", "wrong-secret") })
					b.ResetTimer()
					var wrong, unknown time.Duration
					n := 0
					for b.Loop() {
						if n%2 == 0 {
							wrong += timed(func() { attempt(b, s, name, known, "wrong-secret") })
							unknown += timed(func() { attempt(b, s, name, "nobody", "wrong-secret") })
						} else {
							unknown += timed(func() { attempt(b, s, name, "nobody", "wrong-secret") })
							wrong += timed(func() { attempt(b, s, name, known, "wrong-secret") })
						}
						n++
					}
					b.ReportMetric(float64(wrong.Nanoseconds())/float64(n), "wrong-ns/op")
					b.ReportMetric(float64(unknown.Nanoseconds())/float64(n), "unknown-ns/op")
					b.ReportMetric(float64(unknown)/float64(wrong), "unknown/wrong")
					b.ReportMetric(wa, "wrong-allocs/op")
					b.ReportMetric(ua, "unknown-allocs/op")
				})
			}
		}
	}
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

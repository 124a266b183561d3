// Package benchcmp compares saslkit, an implementation of SASL (RFC 4422),
// with the other Go SASL libraries on the same work: PLAIN (RFC 4616),
// EXTERNAL (RFC 4422 appendix A), SCRAM (RFC 5802, RFC 7677) with and
// without channel binding (RFC 9266), and OAUTHBEARER (RFC 7628).
//
// It is a separate module, so that the saslkit module never depends on its
// peers. The benchmarks are in the _test.go files, one sub-benchmark per
// library (BenchmarkPLAINServer/saslkit, BenchmarkPLAINServer/emersion, …).
// run.sh runs them, compares them with benchstat and writes
// docs/benchmarks.md; cmd/ratios computes the saslkit/peer ratios.
package benchcmp

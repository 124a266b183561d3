// Package hardening holds saslkit's adversarial tests: systematic
// corruption of recorded exchanges (the Cyrus test-suite idea), enumeration
// and secret-leak checks across every mechanism. It has no code of its own.
package hardening

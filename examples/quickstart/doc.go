// Package quickstart holds, in its test file, the server and client quick
// starts of the README, so that they compile and run against each other over
// an in-memory connection. It has no API of its own.
package quickstart

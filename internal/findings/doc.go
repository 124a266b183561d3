// Package findings holds one regression test per finding of the review that
// led to the one identity model (docs/design.md, "Where a secret is
// checked"), each driven through the public API as an application would.
// Each test failed on the code before the redesign, at ab610cd. It has no
// non-test code.
package findings

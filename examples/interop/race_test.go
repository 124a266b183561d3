//go:build race

package interop

// The servers the tests start are built with -race too.
func init() { raceEnabled = true }

package interop

import (
	"os/exec"
	"testing"
)

// NeedTools looks up each of tools in PATH and skips t, naming the first
// missing tool, when one is not there. It returns the tools' paths in the
// order given.
func NeedTools(t testing.TB, tools ...string) []string {
	t.Helper()
	paths := make([]string, len(tools))
	for i, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed: %v (run .ci/install-interop.sh as root)", tool, err)
		}
		paths[i] = p
	}
	return paths
}

package registry_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
)

// TestMechanismsDoc checks the properties table of docs/mechanisms.md
// against each built-in mechanism's Properties, and that every built-in
// mechanism has a row.
func TestMechanismsDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/mechanisms.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 11 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[cells[0]] = cells
	}
	for _, name := range registry.BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			m, ok := registry.Builtin(name)
			if !ok {
				t.Fatalf("Builtin(%q) not found", name)
			}
			row, ok := rows[name]
			if !ok {
				t.Fatalf("docs/mechanisms.md has no row for %s", name)
			}
			_, server := m.(mech.Server)
			_, client := m.(mech.Client)
			p := m.Properties()
			want := []string{
				yes(client), yes(server), yes(p.ClearSecret), yes(p.Anonymous), yes(p.Mutual),
				yes(p.ChannelBinding), yes(p.ServerFirst), yes(p.External), uses(p.Uses),
			}
			if diff := cmp.Diff(want, row[2:]); diff != "" {
				t.Errorf("docs/mechanisms.md row for %s (-code +doc):\n%s", name, diff)
			}
		})
	}
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func uses(c mech.Credential) string {
	switch c {
	case mech.UsesPassword:
		return "password"
	case mech.UsesToken:
		return "token"
	}
	return "nothing"
}

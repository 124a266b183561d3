package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/saslkit/saslkit/examples/loadgen/imapbench"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// scenario is one kind of login, run against every server.
type scenario struct {
	// name is the -scenarios name; title describes it in the report.
	name, title string
	// group is the users' group (imapbench.Groups).
	group string
	// mechanism returns the client mechanism for one run, shared by its
	// connections; conns sizes a key cache.
	mechanism func(conns int) mech.Client
	// tls selects implicit TLS; wrong, wrong passwords.
	tls, wrong bool
}

func plain(int) mech.Client { return mech.Plain{} }

// allScenarios lists the scenarios in run order; title is completed with
// the Argon2id parameters by scenariosFor.
var allScenarios = []scenario{
	{name: "plain", title: "PLAIN, {PLAIN} password", group: imapbench.GroupPlain, mechanism: plain},
	{name: "bcrypt", title: fmt.Sprintf("PLAIN, {BLF-CRYPT} bcrypt cost %d", imapbench.BcryptCost), group: imapbench.GroupBcrypt, mechanism: plain},
	{name: "argon2id", title: "PLAIN, {ARGON2ID} %s", group: imapbench.GroupArgon2id, mechanism: plain},
	{name: "scram", title: "SCRAM-SHA-256, stored keys, client with scram.KeyCache", group: imapbench.GroupSCRAM,
		mechanism: func(conns int) mech.Client { return scram.Mechanism{Cache: &scram.KeyCache{Max: max(conns, 64)}} }},
	{name: "scram-nocache", title: "SCRAM-SHA-256, stored keys, fresh client (PBKDF2 each login)", group: imapbench.GroupSCRAM,
		mechanism: func(int) mech.Client { return scram.Mechanism{} }},
	{name: "tls", title: "PLAIN over implicit TLS, {PLAIN} password", group: imapbench.GroupPlain, mechanism: plain, tls: true},
	{name: "refused", title: "PLAIN, wrong password, {PLAIN} users", group: imapbench.GroupWrong, mechanism: plain, wrong: true},
}

// scenariosFor returns the scenarios named in list ("all" for every one),
// in run order.
func scenariosFor(list, argon string) ([]scenario, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []scenario
	for _, s := range allScenarios {
		if want["all"] || want[s.name] {
			delete(want, s.name)
			if strings.Contains(s.title, "%s") {
				s.title = fmt.Sprintf(s.title, argon)
			}
			out = append(out, s)
		}
	}
	delete(want, "all")
	for n := range want {
		return nil, fmt.Errorf("unknown scenario %q (have %s)", n, scenarioNames())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scenario selected (have %s)", scenarioNames())
	}
	return out, nil
}

func scenarioNames() string {
	var n []string
	for _, s := range allScenarios {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

// usersFile is one passwd-file and the groups it holds.
type usersFile struct {
	name   string
	groups []string
}

// usersFiles returns the passwd-files the scenarios need: one per
// password scheme ({PLAIN} users, those that log in and those refused,
// share one), or with mixed one holding every group.
func usersFiles(scens []scenario, mixed bool) []usersFile {
	need := map[string]bool{}
	for _, s := range scens {
		need[s.group] = true
	}
	if mixed {
		return []usersFile{{name: "users-mixed", groups: imapbench.Groups}}
	}
	var files []usersFile
	for _, f := range []usersFile{
		{"users-plain", []string{imapbench.GroupPlain, imapbench.GroupWrong}},
		{"users-bcrypt", []string{imapbench.GroupBcrypt}},
		{"users-argon2id", []string{imapbench.GroupArgon2id}},
		{"users-scram", []string{imapbench.GroupSCRAM}},
	} {
		for _, g := range f.groups {
			if need[g] {
				files = append(files, f)
				break
			}
		}
	}
	return files
}

// mechs is examples/imapserver's -mechs for the file: SCRAM-SHA-256 needs
// keys, which {PLAIN} users get at load and stored-key users have.
func (f usersFile) mechs() string {
	if slices.Contains(f.groups, imapbench.GroupPlain) || slices.Contains(f.groups, imapbench.GroupSCRAM) {
		return "SCRAM-SHA-256,PLAIN"
	}
	return "PLAIN"
}

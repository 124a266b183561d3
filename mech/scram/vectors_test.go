package scram_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

var ctx = context.Background()

type vector struct {
	Name        string `json:"name"`
	Mech        string `json:"mech"`
	User        string `json:"user"`
	Password    string `json:"password"`
	ClientNonce string `json:"client_nonce"`
	ServerNonce string `json:"server_nonce"`
	Salt        string `json:"salt"`
	Iterations  int    `json:"iterations"`
	StoredKey   string `json:"stored_key"`
	ServerKey   string `json:"server_key"`
	ClientFirst string `json:"client_first"`
	ServerFirst string `json:"server_first"`
	ClientFinal string `json:"client_final"`
	ServerFinal string `json:"server_final"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorKeys returns v's stored keys.
func vectorKeys(t testing.TB, v vector) creds.SCRAMKeys {
	t.Helper()
	h, plus, ok := scram.HashByName(v.Mech)
	if !ok || plus {
		t.Fatalf("bad mechanism %q", v.Mech)
	}
	return creds.SCRAMKeys{Hash: h.Name(), Salt: unb64(t, v.Salt), Iterations: v.Iterations, StoredKey: unb64(t, v.StoredKey), ServerKey: unb64(t, v.ServerKey)}
}

// vectorMechs returns a server and a client mechanism that replay v's
// nonces, and a Verifier over a store that holds v's user with v's keys.
func vectorMechs(t testing.TB, v vector) (srv, cli scram.Mechanism, ver *creds.Verifier) {
	t.Helper()
	return vectorMechsWith(t, v, vectorKeys(t, v))
}

// vectorMechsWith is vectorMechs with the user's keys given.
func vectorMechsWith(t testing.TB, v vector, keys creds.SCRAMKeys) (srv, cli scram.Mechanism, ver *creds.Verifier) {
	t.Helper()
	h, _, _ := scram.HashByName(v.Mech)
	store := &creds.MemoryStore{}
	if err := store.Add(creds.Account{Name: v.User, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	srv = scram.Mechanism{Hash: h, Rand: strings.NewReader(v.ServerNonce), NonceLen: len(v.ServerNonce)}
	cli = scram.Mechanism{Hash: h, Rand: strings.NewReader(v.ClientNonce), NonceLen: len(v.ClientNonce)}
	return srv, cli, &creds.Verifier{Store: store}
}

// TestVectors replays the RFC exchanges through client and server sessions,
// byte for byte, in both final-data modes, with the stored keys of the
// vectors and with keys derived from the password.
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		derived, err := creds.DeriveSCRAMKeys(vectorKeys(t, v).Hash, v.Password, unb64(t, v.Salt), v.Iterations, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, keys := range []struct {
			name string
			k    creds.SCRAMKeys
		}{{"stored keys", vectorKeys(t, v)}, {"derived keys", derived}} {
			for _, finalAsChallenge := range []bool{false, true} {
				name := v.Name + "/" + keys.name
				if finalAsChallenge {
					name += "/final as challenge"
				}
				t.Run(name, func(t *testing.T) {
					srvMech, cliMech, ver := vectorMechsWith(t, v, keys.k)
					cfg := &session.Config{FinalAsChallenge: finalAsChallenge, Verifier: ver}
					srv, err := session.NewServer(srvMech, mech.Channel{}, cfg)
					if err != nil {
						t.Fatal(err)
					}
					cli := session.NewClient(cliMech, creds.Client{Authcid: v.User, Password: v.Password}, mech.Channel{}, cfg)

					ir, ok, err := cli.Start(ctx)
					if err != nil || !ok {
						t.Fatalf("client Start: %v %v", ok, err)
					}
					check(t, "client-first", v.ClientFirst, ir)
					step, err := srv.StartInitial(ctx, ir)
					if err != nil {
						t.Fatalf("server: %v", err)
					}
					check(t, "server-first", v.ServerFirst, step.Challenge)
					resp, err := cli.Next(ctx, step.Challenge)
					if err != nil {
						t.Fatalf("client: %v", err)
					}
					check(t, "client-final", v.ClientFinal, resp)
					step, err = srv.Next(ctx, resp)
					if err != nil {
						t.Fatalf("server: %v", err)
					}
					if finalAsChallenge {
						if step.Done {
							t.Fatal("done before the final challenge")
						}
						check(t, "server-final challenge", v.ServerFinal, step.Challenge)
						resp, err := cli.Next(ctx, step.Challenge)
						if err != nil || len(resp) != 0 {
							t.Fatalf("client reply to v=: %q, %v", resp, err)
						}
						if step, err = srv.Next(ctx, resp); err != nil || !step.Done || step.HasFinal {
							t.Fatalf("server after the reply: %+v, %v", step, err)
						}
						if err := cli.Success(ctx); err != nil {
							t.Errorf("client Success: %v", err)
						}
					} else {
						if !step.Done || !step.HasFinal {
							t.Fatalf("server step %+v: want done with final data", step)
						}
						check(t, "server-final", v.ServerFinal, step.Final)
						if err := cli.SuccessData(ctx, step.Final); err != nil {
							t.Errorf("client SuccessData: %v", err)
						}
					}
					p := step.Principal
					if got, want := []string{p.Mechanism(), p.Account(), p.Authzid()}, []string{v.Mech, v.User, ""}; !cmp.Equal(got, want) {
						t.Errorf("principal %q, want %q", got, want)
					}
				})
			}
		}
	}
}

func check(t *testing.T, what, want string, got []byte) {
	t.Helper()
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

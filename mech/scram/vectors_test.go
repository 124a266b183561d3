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

// vectorMechs returns a server and a client mechanism that replay v's
// nonces, and the server's store.
func vectorMechs(t testing.TB, v vector) (srv, cli scram.Mechanism) {
	t.Helper()
	h, plus, ok := scram.HashByName(v.Mech)
	if !ok || plus {
		t.Fatalf("bad mechanism %q", v.Mech)
	}
	keys := scram.Keys{Salt: unb64(t, v.Salt), Iterations: v.Iterations, StoredKey: unb64(t, v.StoredKey), ServerKey: unb64(t, v.ServerKey)}
	store := &scram.MemoryStore{}
	if err := store.SetKeys(ctx, h, v.User, keys); err != nil {
		t.Fatal(err)
	}
	srv = scram.Mechanism{Hash: h, Store: store, Rand: strings.NewReader(v.ServerNonce), NonceLen: len(v.ServerNonce)}
	cli = scram.Mechanism{Hash: h, Rand: strings.NewReader(v.ClientNonce), NonceLen: len(v.ClientNonce)}
	return srv, cli
}

func TestDerive(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			h, _, _ := scram.HashByName(v.Mech)
			k, err := scram.Derive(h, v.Password, unb64(t, v.Salt), v.Iterations, false)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{base64.StdEncoding.EncodeToString(k.StoredKey), base64.StdEncoding.EncodeToString(k.ServerKey)}
			if diff := cmp.Diff([]string{v.StoredKey, v.ServerKey}, got); diff != "" {
				t.Errorf("StoredKey, ServerKey (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVectors replays the RFC exchanges through client and server sessions,
// byte for byte, in both final-data modes.
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		for _, finalAsChallenge := range []bool{false, true} {
			name := v.Name
			if finalAsChallenge {
				name += "/final as challenge"
			}
			t.Run(name, func(t *testing.T) {
				srvMech, cliMech := vectorMechs(t, v)
				cfg := &session.Config{FinalAsChallenge: finalAsChallenge}
				srv := session.NewServer(srvMech, mech.Channel{}, cfg)
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
				if !step.Verified || step.Creds.Authcid() != v.User || step.Creds.Mechanism() != v.Mech {
					t.Errorf("creds %v verified=%v", step.Creds, step.Verified)
				}
			})
		}
	}
}

func check(t *testing.T, what, want string, got []byte) {
	t.Helper()
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

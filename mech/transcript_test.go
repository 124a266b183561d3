package mech_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// transcript is a golden exchange from testdata/transcripts.json. Messages
// are base64, as they travel in IMAP and SMTP.
type transcript struct {
	Name     string       `json:"name"`
	Mech     string       `json:"mech"`
	Client   creds.Client `json:"client"`
	Identity *struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	} `json:"identity"`
	// Initial is the initial response; absent means none.
	Initial *string `json:"initial"`
	Rounds  []struct {
		S string `json:"s"`
		C string `json:"c"`
	} `json:"rounds"`
	Authcid  string `json:"authcid"`
	Authzid  string `json:"authzid"`
	External bool   `json:"external"`
	Token    string `json:"token"`
}

var testMechs = map[string]interface {
	mech.Server
	mech.Client
}{
	"PLAIN":    mech.Plain{},
	"LOGIN":    mech.Login{},
	"CRAM-MD5": mech.CRAMMD5{},
	"XOAUTH2":  mech.XOAuth2{},
	"EXTERNAL": mech.External{},
}

var allowAll = creds.AuthorizerFunc(func(context.Context, string, string) error { return nil })

func loadTranscripts(t *testing.T) []transcript {
	t.Helper()
	b, err := os.ReadFile("testdata/transcripts.json")
	if err != nil {
		t.Fatal(err)
	}
	var ts []transcript
	if err := json.Unmarshal(b, &ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64 in testdata: %v", err)
	}
	return b
}

// TestTranscripts replays each golden exchange through a client session and
// a server session and checks every message byte for byte.
func TestTranscripts(t *testing.T) {
	ctx := context.Background()
	for _, tc := range loadTranscripts(t) {
		t.Run(tc.Name, func(t *testing.T) {
			m := testMechs[tc.Mech]
			cli := session.NewClient(m, tc.Client, mech.Channel{}, nil)
			// The wire format is under test here, not the authorization
			// policy.
			srv := session.NewServer(m, mech.Channel{}, &session.Config{Authorizer: allowAll})

			var step session.Step
			var err error
			if tc.Initial != nil {
				ir, ok, cerr := cli.Start(ctx)
				if cerr != nil || !ok {
					t.Fatalf("client Start = %v, %v", ok, cerr)
				}
				if diff := cmp.Diff(*tc.Initial, base64.StdEncoding.EncodeToString(ir)); diff != "" {
					t.Errorf("initial response (-want +got):\n%s", diff)
				}
				step, err = srv.StartInitial(ctx, b64(t, *tc.Initial))
			} else {
				step, err = srv.Start(ctx)
			}
			for i, r := range tc.Rounds {
				if err != nil {
					t.Fatalf("round %d: server: %v", i, err)
				}
				if step.Done {
					t.Fatalf("round %d: server done early", i)
				}
				if diff := cmp.Diff(r.S, base64.StdEncoding.EncodeToString(step.Challenge)); diff != "" {
					t.Errorf("round %d challenge (-want +got):\n%s", i, diff)
				}
				resp, cerr := cli.Next(ctx, b64(t, r.S))
				if cerr != nil {
					t.Fatalf("round %d: client: %v", i, cerr)
				}
				if diff := cmp.Diff(r.C, base64.StdEncoding.EncodeToString(resp)); diff != "" {
					t.Errorf("round %d response (-want +got):\n%s", i, diff)
				}
				step, err = srv.Next(ctx, b64(t, r.C))
			}
			if err != nil {
				t.Fatalf("server: %v", err)
			}
			if !step.Done {
				t.Fatalf("server not done after the transcript")
			}
			if err := cli.Success(ctx); err != nil {
				t.Errorf("client Success: %v", err)
			}
			got := [2]string{step.Creds.Authcid(), step.Creds.Authzid()}
			if diff := cmp.Diff([2]string{tc.Authcid, tc.Authzid}, got); diff != "" {
				t.Errorf("authcid, authzid (-want +got):\n%s", diff)
			}
			if tc.Identity != nil {
				id := creds.ClearIdentity{Name: tc.Identity.Name, Password: tc.Identity.Password}
				if err := step.Creds.Verify(id); err != nil {
					t.Errorf("Verify = %v, want nil", err)
				}
				bad := creds.ClearIdentity{Name: tc.Identity.Name, Password: "invalid"}
				if err := step.Creds.Verify(bad); !errors.Is(err, creds.ErrBadCredentials) {
					t.Errorf("Verify(wrong password) = %v, want ErrBadCredentials", err)
				}
				other := creds.ClearIdentity{Name: "invalid", Password: tc.Identity.Password}
				if err := step.Creds.Verify(other); !errors.Is(err, creds.ErrBadCredentials) {
					t.Errorf("Verify(wrong user) = %v, want ErrBadCredentials", err)
				}
				if err := step.Creds.Verify(nil); !errors.Is(err, creds.ErrBadCredentials) {
					t.Errorf("Verify(nil) = %v, want ErrBadCredentials", err)
				}
			}
			if tc.External {
				var ee *creds.ExternalError
				if err := step.Creds.Verify(nil); !errors.As(err, &ee) {
					t.Fatalf("Verify = %v, want *ExternalError", err)
				}
				if diff := cmp.Diff(tc.Token, ee.Token); diff != "" {
					t.Errorf("token (-want +got):\n%s", diff)
				}
			}
		})
	}
}

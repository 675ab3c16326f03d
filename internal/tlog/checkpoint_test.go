package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"
)

func TestCheckpointMarshal(t *testing.T) {
	root := refRoot([][]byte{refLeafHash([]byte("a"))})
	c := Checkpoint{Origin: testOrigin, Size: 1, Root: root}
	want := testOrigin + "\n1\n" + base64.StdEncoding.EncodeToString(root) + "\n"
	if got := string(c.Marshal()); got != want {
		t.Fatalf("Marshal = %q, want %q", got, want)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, v := testKey(t, testOrigin, 1)
	m, hashes := buildLog(t, 21)
	for _, size := range []uint64{0, 1, 2, 20, 21} {
		root, err := Root(ctx, m, size)
		if err != nil {
			t.Fatal(err)
		}
		in := Checkpoint{Origin: testOrigin, Size: size, Root: root}
		signed, err := SignCheckpoint(in, s)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !strings.HasPrefix(signed, string(in.Marshal())+"\n— "+testOrigin+" ") {
			t.Fatalf("signed checkpoint is not the body followed by a signature line:\n%s", signed)
		}
		got, err := OpenCheckpoint([]byte(signed), v)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Fatalf("size %d (-signed +opened):\n%s", size, diff)
		}
		if !bytes.Equal(got.Root, refRoot(hashes[:size])) {
			t.Fatalf("size %d: root %x is not the reference root", size, got.Root)
		}
	}
}

// signBody signs arbitrary note text with the given signers, bypassing
// SignCheckpoint's checks, to make checkpoints a bad log could send.
func signBody(t *testing.T, body string, signers ...note.Signer) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: body}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenCheckpointRejects(t *testing.T) {
	s, v := testKey(t, testOrigin, 1)
	sOther, _ := testKey(t, testOrigin, 2)             // same origin, another key
	sOtherLog, _ := testKey(t, "other.example/log", 3) // another log
	root := refRoot([][]byte{refLeafHash([]byte("a")), refLeafHash([]byte("b"))})
	b64 := base64.StdEncoding.EncodeToString(root)
	good := Checkpoint{Origin: testOrigin, Size: 2, Root: root}
	signed, err := SignCheckpoint(good, s)
	if err != nil {
		t.Fatal(err)
	}
	// A root whose last base64 character carries non-zero padding bits.
	last := strings.IndexByte(base64.StdEncoding.EncodeToString(root), '=') - 1
	nonCanonical := b64[:last] + string(b64[last]+1) + b64[last+1:]
	if dec, err := base64.StdEncoding.DecodeString(nonCanonical); err != nil || !bytes.Equal(dec, root) {
		t.Fatalf("test setup: %q should decode leniently to the same root (%v)", nonCanonical, err)
	}
	otherRoot := bytes.Clone(root)
	otherRoot[0] ^= 1

	tests := []struct {
		name   string
		signed []byte
		want   error
	}{
		{"wrong key", []byte(mustSign(t, good, sOther)), ErrVerification},
		{"another log's key", signBody(t, "other.example/log\n2\n"+b64+"\n", sOtherLog), ErrVerification},
		{"signed by two keys, none ours", signBody(t, string(good.Marshal()), sOther, sOtherLog), ErrVerification},
		{"tampered size", []byte(strings.Replace(signed, "\n2\n", "\n3\n", 1)), ErrVerification},
		{"tampered root", []byte(strings.Replace(signed, b64, base64.StdEncoding.EncodeToString(otherRoot), 1)), ErrVerification},
		{"tampered origin", []byte(strings.Replace(signed, testOrigin+"\n", "evident.example.com/lag\n", 1)), ErrVerification},
		{"origin differs from key name", signBody(t, "evident.example.com/other\n2\n"+b64+"\n", s), ErrVerification},
		{"extension line", signBody(t, string(good.Marshal())+"extra\n", s), ErrMalformed},
		{"missing root line", signBody(t, testOrigin+"\n2\n", s), ErrMalformed},
		{"empty line before root", signBody(t, testOrigin+"\n2\n\n"+b64+"\n", s), ErrMalformed},
		{"non-canonical base64", signBody(t, testOrigin+"\n2\n"+nonCanonical+"\n", s), ErrMalformed},
		{"unpadded base64", signBody(t, testOrigin+"\n2\n"+strings.TrimRight(b64, "=")+"\n", s), ErrMalformed},
		{"url base64", signBody(t, testOrigin+"\n2\n"+base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32))+"\n", s), ErrMalformed},
		{"short root", signBody(t, testOrigin+"\n2\n"+base64.StdEncoding.EncodeToString(root[:31])+"\n", s), ErrMalformed},
		{"size with leading zero", signBody(t, testOrigin+"\n02\n"+b64+"\n", s), ErrMalformed},
		{"size with sign", signBody(t, testOrigin+"\n+2\n"+b64+"\n", s), ErrMalformed},
		{"negative size", signBody(t, testOrigin+"\n-2\n"+b64+"\n", s), ErrMalformed},
		{"hex size", signBody(t, testOrigin+"\n0x2\n"+b64+"\n", s), ErrMalformed},
		{"size overflows", signBody(t, testOrigin+"\n18446744073709551616\n"+b64+"\n", s), ErrMalformed},
		{"size with space", signBody(t, testOrigin+"\n2 \n"+b64+"\n", s), ErrMalformed},
		{"empty tree with a root", signBody(t, testOrigin+"\n0\n"+b64+"\n", s), ErrMalformed},
		{"not a note", []byte(good.Marshal()), ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"signature line mangled", []byte(strings.Replace(signed, "— ", "- ", 1)), ErrMalformed},
		{"control character", []byte(strings.Replace(signed, testOrigin, testOrigin+"\x01", 1)), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := OpenCheckpoint(tt.signed, v)
			if err == nil {
				t.Fatalf("opened %+v from:\n%s", c, tt.signed)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.want)
			}
		})
	}
}

func mustSign(t *testing.T, c Checkpoint, s note.Signer) string {
	t.Helper()
	signed, err := SignCheckpoint(c, s)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestOpenCheckpointCosigned(t *testing.T) {
	s, v := testKey(t, testOrigin, 1)
	witness, vWitness := testKey(t, "witness.example/w1", 9)
	c := Checkpoint{Origin: testOrigin, Size: 1, Root: refLeafHash([]byte("a"))}
	for _, order := range [][]note.Signer{{s, witness}, {witness, s}} {
		got, err := OpenCheckpoint(signBody(t, string(c.Marshal()), order...), v)
		if err != nil {
			t.Fatalf("signed by ours and a witness: %v", err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	}
	// The witness's key verifies its signature, but the checkpoint is not
	// for the witness's log.
	if _, err := OpenCheckpoint(signBody(t, string(c.Marshal()), s, witness), vWitness); !errors.Is(err, ErrVerification) {
		t.Fatalf("opened with the witness key: %v, want ErrVerification", err)
	}
}

func TestOpenCheckpointMessages(t *testing.T) {
	_, v := testKey(t, testOrigin, 1)
	sOther, _ := testKey(t, testOrigin, 2)
	c := Checkpoint{Origin: testOrigin, Size: 1, Root: refLeafHash([]byte("a"))}
	_, err := OpenCheckpoint([]byte(mustSign(t, c, sOther)), v)
	want := []string{"not signed by log key " + testOrigin + "+", "signed by " + testOrigin + "+"}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestSignCheckpointRejects(t *testing.T) {
	s, _ := testKey(t, testOrigin, 1)
	root := refLeafHash([]byte("a"))
	tests := []struct {
		name string
		c    Checkpoint
	}{
		{"origin is not the key name", Checkpoint{Origin: "other.example/log", Size: 1, Root: root}},
		{"empty origin", Checkpoint{Origin: "", Size: 1, Root: root}},
		{"origin with newline", Checkpoint{Origin: testOrigin + "\n5", Size: 1, Root: root}},
		{"short root", Checkpoint{Origin: testOrigin, Size: 1, Root: root[:20]}},
		{"no root", Checkpoint{Origin: testOrigin, Size: 1}},
		{"empty tree with a non-empty root", Checkpoint{Origin: testOrigin, Size: 0, Root: root}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if signed, err := SignCheckpoint(tt.c, s); err == nil {
				t.Fatalf("signed:\n%s", signed)
			}
		})
	}
	if _, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: 1, Root: root}, nil); err == nil {
		t.Error("signed with a nil signer")
	}
}

func TestKeys(t *testing.T) {
	skey, vkey, err := GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(skey, "PRIVATE+KEY+"+testOrigin+"+") || !strings.HasPrefix(vkey, testOrigin+"+") {
		t.Fatalf("keys %q / %q are not note keys for %s", skey[:20], vkey, testOrigin)
	}
	skey2, _, err := GenerateKey(testOrigin)
	if err != nil || skey2 == skey {
		t.Fatalf("two generated keys are equal (%v)", err)
	}
	// Key files end with a newline.
	s, err := NewSigner(skey + "\n")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(vkey + "\n")
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Origin: testOrigin, Size: 1, Root: refLeafHash([]byte("a"))}
	if _, err := OpenCheckpoint([]byte(mustSign(t, c, s)), v); err != nil {
		t.Fatalf("generated key pair does not round-trip: %v", err)
	}

	// skey: PRIVATE+KEY+<name>+<hash>+<base64>; vkey: <name>+<hash>+<base64>.
	sParts := strings.SplitN(skey, "+", 5) // the base64 key may hold a "+" too
	vParts := strings.SplitN(vkey, "+", 3)
	secret := sParts[4]
	otherAlg := base64.StdEncoding.EncodeToString(append([]byte{2}, bytes.Repeat([]byte{1}, 32)...))
	badSigners := map[string]string{
		"empty":                 "",
		"garbage":               "not a key",
		"verifier key":          vkey,
		"wrong hash":            strings.Join([]string{"PRIVATE", "KEY", testOrigin, "00000000", secret}, "+"),
		"renamed":               strings.Join([]string{"PRIVATE", "KEY", "evil.example/log", sParts[3], secret}, "+"),
		"unsupported algorithm": strings.Join([]string{"PRIVATE", "KEY", testOrigin, sParts[3], otherAlg}, "+"),
	}
	for name, k := range badSigners {
		_, err := NewSigner(k)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("NewSigner(%s): %v, want ErrMalformed", name, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("NewSigner(%s): error reveals the private key: %v", name, err)
		}
	}
	badVerifiers := map[string]string{
		"empty":       "",
		"garbage":     "not a key",
		"signer key":  skey,
		"wrong hash":  strings.Join([]string{testOrigin, "00000000", vParts[2]}, "+"),
		"renamed":     strings.Join([]string{"evil.example/log", vParts[1], vParts[2]}, "+"),
		"short key":   strings.Join([]string{testOrigin, vParts[1], vParts[2][:20]}, "+"),
		"inner space": strings.Join([]string{"evident example", vParts[1], vParts[2]}, "+"),
	}
	for name, k := range badVerifiers {
		_, err := NewVerifier(k)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("NewVerifier(%s): %v, want ErrMalformed", name, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("NewVerifier(%s): error reveals the private key: %v", name, err)
		}
	}
	for _, origin := range []string{"", "a b", "a+b", "a\x01b", "tab\there", "\xff"} {
		if _, _, err := GenerateKey(origin); !errors.Is(err, ErrMalformed) {
			t.Errorf("GenerateKey(%q): %v, want ErrMalformed", origin, err)
		}
	}
}

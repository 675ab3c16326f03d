package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// FuzzOpenCheckpoint opens arbitrary bytes as a checkpoint. With sign set,
// data is first signed as note text by the log's key, so that the fuzzer
// reaches the checkpoint parser past the signature check. Whatever opens
// must be exactly what Marshal writes.
func FuzzOpenCheckpoint(f *testing.F) {
	s, v := testKey(f, testOrigin, 1)
	w, _ := testKey(f, "witness.example/w", 2)
	root := refRoot([][]byte{refLeafHash([]byte("a")), refLeafHash([]byte("b")), refLeafHash([]byte("c"))})
	good := Checkpoint{Origin: testOrigin, Size: 3, Root: root}
	signed, err := SignCheckpoint(good, s)
	if err != nil {
		f.Fatal(err)
	}
	cosigned, err := note.Sign(&note.Note{Text: string(good.Marshal())}, s, w)
	if err != nil {
		f.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(root)
	f.Add([]byte(signed), false)
	f.Add(cosigned, false)
	f.Add([]byte(signed+"— "+testOrigin+" AAAAAAAA\n"), false)
	f.Add(good.Marshal(), true)
	f.Add([]byte(testOrigin+"\n0\n"+base64.StdEncoding.EncodeToString(EmptyRoot())+"\n"), true)
	f.Add([]byte(testOrigin+"\n03\n"+b64+"\n"), true)
	f.Add([]byte(testOrigin+"\n3\n"+b64+"\nextension\n"), true)
	f.Add([]byte(testOrigin+"\n3\n"+b64[:len(b64)-2]+"B=\n"), true)
	f.Add([]byte("other.example/log\n3\n"+b64+"\n"), true)
	f.Add([]byte{}, false)

	f.Fuzz(func(t *testing.T, data []byte, sign bool) {
		msg := data
		if sign {
			b, err := note.Sign(&note.Note{Text: string(data)}, s)
			if err != nil {
				return // not valid note text
			}
			msg = b
		}
		c, err := OpenCheckpoint(msg, v)
		if err != nil {
			return
		}
		n, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			t.Fatalf("OpenCheckpoint accepted a note that note.Open rejects: %v", err)
		}
		if !bytes.Equal(c.Marshal(), []byte(n.Text)) {
			t.Fatalf("opened %+v, which marshals to %q, from text %q", c, c.Marshal(), n.Text)
		}
		if c.Origin != v.Name() || len(c.Root) != HashSize {
			t.Fatalf("opened a checkpoint that is not ours: %+v", c)
		}
	})
}

// FuzzProofVerify verifies arbitrary proofs against a real log's key.
// hashes is cut into HashSize-byte pieces (the last one possibly short).
// Whatever verifies must be a canonical entry that is in the log.
func FuzzProofVerify(f *testing.F) {
	ctx := context.Background()
	s, v := testKey(f, testOrigin, 1)
	m := &MemStore{}
	var leaves [][]byte
	for i := range 7 {
		b, err := testEntry(i).Encode()
		if err != nil {
			f.Fatal(err)
		}
		if _, err := Append(ctx, m, b); err != nil {
			f.Fatal(err)
		}
		leaves = append(leaves, b)
	}
	for i := range uint64(7) {
		p, err := NewProof(ctx, m, s, testOrigin, i)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Index, p.Size, p.Leaf, bytes.Join(p.Hashes, nil), p.Checkpoint)
	}
	f.Add(uint64(9), uint64(7), leaves[0], []byte{1, 2, 3}, "")

	f.Fuzz(func(t *testing.T, index, size uint64, leaf, hashes []byte, checkpoint string) {
		p := &Proof{Index: index, Size: size, Leaf: leaf, Checkpoint: checkpoint}
		for len(hashes) > 0 {
			n := min(len(hashes), HashSize)
			p.Hashes = append(p.Hashes, hashes[:n])
			hashes = hashes[n:]
		}
		e, c, err := p.Verify(v)
		if err != nil {
			return
		}
		if c.Size != 7 || index >= 7 || !bytes.Equal(leaf, leaves[index]) {
			t.Fatalf("verified leaf %d of size %d: %q", index, c.Size, leaf)
		}
		if b, err := e.Encode(); err != nil || !bytes.Equal(b, leaf) {
			t.Fatalf("verified entry does not encode to its leaf: %q, %v", b, err)
		}
	})
}

// FuzzDecodeEntry checks that DecodeEntry accepts only canonical bytes:
// whatever it decodes encodes back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	for i := range 3 {
		e := testEntry(i)
		if i == 1 {
			e.Type, e.Product = EntryApproval, "pump <&>\u2028"
		}
		b, err := e.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(append(bytes.TrimSuffix(b, []byte("\n")), ' ', '\n'))
	}
	f.Add([]byte(`{"type":"release","extra":1}` + "\n"))
	f.Add([]byte("{}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEntry(data)
		if err != nil {
			return
		}
		b, err := e.Encode()
		if err != nil {
			t.Fatalf("decoded entry %+v does not encode: %v", e, err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("decoded %q, which encodes to %q", data, b)
		}
	})
}

package evidence_test

import (
	"bytes"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

// FuzzDecodeManifest: DecodeManifest never panics, and whatever it accepts
// is a fixed point of Encode: it re-encodes, the encoding decodes again, and
// both decodings have the same canonical bytes. A manifest that decodes but
// does not re-encode would be one that can be verified but never re-signed
// or compared.
func FuzzDecodeManifest(f *testing.F) {
	full := encodeManifest(f, fullManifest())
	minimal := encodeManifest(f, minimalManifest())
	f.Add(full)
	f.Add(minimal)
	f.Add(full[:len(full)/2])
	f.Add(append(bytes.Clone(minimal), "{}"...))
	f.Add(bytes.Replace(full, []byte(`"schemaVersion": "1"`), []byte(`"schemaVersion": "2"`), 1))
	f.Add(bytes.Replace(full, []byte(`"safetyClass": "C"`), []byte(`"safetyClass": "B"`), 1))
	f.Add(bytes.Replace(minimal, []byte(`"createdAt": "2024-05-02T09:30:00Z"`), []byte(`"createdAt": "2024-05-02T09:30:00.5+14:00"`), 1))
	f.Add(bytes.Replace(minimal, []byte(`"outcome": "fail"`), []byte(`"outcome": "pass", "rules": [{"rule":"x","clause":"","outcome":"pass","message":"\u00e9\u003c"}]`), 1))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))

	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := evidence.DecodeManifest(bytes.NewReader(b))
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("error kind %q, want invalid: %v", evidence.KindOf(err), err)
			}
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded manifest does not encode: %v", err)
		}
		m2, err := evidence.DecodeManifest(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("encoding of a decoded manifest does not decode: %v\n%s", err, enc)
		}
		enc2, err := m2.Encode()
		if err != nil {
			t.Fatalf("second encode: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encode is not stable:\n%s\n---\n%s", enc, enc2)
		}
		if !evidence.Equal(m, m2) {
			t.Fatal("Equal(decode(b), decode(encode(decode(b)))) is false")
		}
	})
}

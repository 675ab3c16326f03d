package tlog

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
)

func TestEntryEncode(t *testing.T) {
	m, r := digestOf("manifest", 1), digestOf("bundle", 1)
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{
			"release",
			Entry{Type: EntryRelease, Product: "pump", Version: "1.2.0", Manifest: m, Record: r},
			`{"type":"release","product":"pump","version":"1.2.0","manifest":"` + m.String() + `","record":"` + r.String() + `"}` + "\n",
		},
		{
			"approval, no HTML escaping",
			Entry{Type: EntryApproval, Product: "pump <&> ü", Version: "1.2.0+build\"7", Manifest: m, Record: r},
			`{"type":"approval","product":"pump <&> ü","version":"1.2.0+build\"7","manifest":"` + m.String() + `","record":"` + r.String() + `"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.e.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("Encode:\n got %s\nwant %s", got, tt.want)
			}
			back, err := DecodeEntry(got)
			if err != nil {
				t.Fatalf("DecodeEntry(Encode()): %v", err)
			}
			if diff := cmp.Diff(tt.e, back, cmp.Comparer(func(a, b digest.Digest) bool { return a == b })); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEntryEncodeRejects(t *testing.T) {
	good := testEntry(1)
	tests := []struct {
		name   string
		modify func(*Entry)
	}{
		{"no type", func(e *Entry) { e.Type = "" }},
		{"unknown type", func(e *Entry) { e.Type = "revocation" }},
		{"no product", func(e *Entry) { e.Product = "" }},
		{"no version", func(e *Entry) { e.Version = "" }},
		{"no manifest", func(e *Entry) { e.Manifest = digest.Digest{} }},
		{"no record", func(e *Entry) { e.Record = digest.Digest{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			tt.modify(&e)
			if b, err := e.Encode(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Encode = %q, %v; want ErrMalformed", b, err)
			}
		})
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	m, r := digestOf("manifest", 1).String(), digestOf("bundle", 1).String()
	body := `"type":"release","product":"pump","version":"1.0","manifest":"` + m + `","record":"` + r + `"`
	canonical := "{" + body + "}\n"
	if _, err := DecodeEntry([]byte(canonical)); err != nil {
		t.Fatalf("test setup: canonical entry rejected: %v", err)
	}
	tests := []struct {
		name string
		in   string
		says string // the error names the problem
	}{
		{"unknown field", "{" + body + `,"extra":1}` + "\n", `unknown field "extra"`},
		{"trailing data", canonical + "x", "after the JSON object"},
		{"second object", canonical + "{}\n", "after the JSON object"},
		{"bad manifest digest", strings.Replace(canonical, m, "sha256:1234", 1), "64 hex"},
		{"upper-case digest", strings.Replace(canonical, m, strings.ToUpper(m[7:]), 1), "prefix"},
		{"digest without prefix", strings.Replace(canonical, r, r[7:], 1), "prefix"},
		{"unknown type", strings.Replace(canonical, `"release"`, `"revocation"`, 1), `unknown type "revocation"`},
		{"missing record", strings.Replace(canonical, `,"record":"`+r+`"`, "", 1), "record digest is missing"},
		{"null record", strings.Replace(canonical, `"`+r+`"`, "null", 1), "record digest is missing"},
		{"empty product", strings.Replace(canonical, `"pump"`, `""`, 1), "product is missing"},
		{"no trailing newline", strings.TrimSuffix(canonical, "\n"), "canonical"},
		{"two trailing newlines", canonical + "\n", "canonical"},
		{"white space", strings.Replace(canonical, `,"product"`, `, "product"`, 1), "canonical"},
		{"fields reordered", `{"product":"pump","type":"release"` + body[len(`"type":"release","product":"pump"`):] + "}\n", "canonical"},
		{"key in other case", strings.Replace(canonical, `"type"`, `"Type"`, 1), "canonical"},
		{"duplicate field", "{" + `"type":"approval",` + body + "}\n", "canonical"},
		{"escaped character", strings.Replace(canonical, `"pump"`, `"pum\u0070"`, 1), "canonical"},
		{"wrong type for field", strings.Replace(canonical, `"pump"`, `7`, 1), "product"},
		{"array", "[]\n", "cannot unmarshal array"},
		{"not JSON", "release pump 1.0\n", "invalid character"},
		{"empty", "", "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := DecodeEntry([]byte(tt.in))
			if err == nil {
				t.Fatalf("decoded %+v", e)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
}

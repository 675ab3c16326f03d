package evidence_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

func soupEntries() []evidence.SOUPEntry {
	return []evidence.SOUPEntry{
		{
			BOMRef: "pkg:generic/mbedtls@3.5.1", Type: "library", Group: "arm", Name: "mbedtls", Version: "3.5.1",
			Manufacturer: "Arm Limited", PURL: "pkg:generic/mbedtls@3.5.1", CPE: "cpe:2.3:a:arm:mbed_tls:3.5.1:*:*:*:*:*:*:*",
			Hashes:   []evidence.Hash{{Alg: "SHA-256", Value: "ab12"}},
			Licenses: []string{"Apache-2.0", "GPL-2.0-or-later"}, EndOfSupport: "2027-03-31", SupportLevel: "security-fixes",
		},
		{Name: "lwip", Version: "2.2.0", PURL: "pkg:generic/lwip@2.2.0"},
		{}, // an SBOM may say nothing at all about an entry
		{Name: "名前 with \"quotes\"\nand a newline", Version: "1"},
	}
}

func writeSOUP(t *testing.T, es []evidence.SOUPEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, e := range es {
		if err := evidence.WriteSOUPLine(&b, e); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func readSOUP(r io.Reader) ([]evidence.SOUPEntry, error) {
	var out []evidence.SOUPEntry
	err := evidence.ReadSOUP(r, func(e evidence.SOUPEntry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

func TestSOUPRoundTrip(t *testing.T) {
	in := soupEntries()
	b := writeSOUP(t, in)
	if n := bytes.Count(b, []byte("\n")); n != len(in) {
		t.Errorf("%d lines for %d entries: one JSON line each", n, len(in))
	}
	got, err := readSOUP(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestReadSOUPTolerates(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"blank lines", "\n" + `{"name":"a"}` + "\n\n" + `{"name":"b"}` + "\n\n"},
		{"CRLF line ends", `{"name":"a"}` + "\r\n" + `{"name":"b"}` + "\r\n"},
		{"no final newline", `{"name":"a"}` + "\n" + `{"name":"b"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSOUP(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if want := []evidence.SOUPEntry{{Name: "a"}, {Name: "b"}}; !cmp.Equal(want, got) {
				t.Errorf("got %+v", got)
			}
		})
	}
	if got, err := readSOUP(strings.NewReader("")); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v, %v", got, err)
	}
}

func TestReadSOUPErrors(t *testing.T) {
	good := `{"name":"a","version":"1"}` + "\n"
	long := `{"name":"` + strings.Repeat("x", evidence.MaxSOUPLine) + `"}` + "\n"
	for _, tc := range []struct {
		name string
		in   io.Reader
		want string
	}{
		{"malformed line", strings.NewReader(good + good + `{"name":` + "\n"), "SOUP list line 3: "},
		{"unknown field", strings.NewReader(good + `{"name":"a","licence":"MIT"}` + "\n"), `SOUP list line 2: json: unknown field "licence"`},
		{"wrong type", strings.NewReader(`{"name":"a","hashes":"abc"}`), `SOUP list line 1: field "hashes": want a JSON array, got JSON string`},
		{"two values on a line", strings.NewReader(good + `{"name":"a"} {"name":"b"}` + "\n"), "SOUP list line 2: unexpected data after the JSON value"},
		{"not an object", strings.NewReader(`["a"]`), "SOUP list line 1: want a JSON object, got JSON array"},
		{"line too long", io.MultiReader(strings.NewReader(good), strings.NewReader(long), strings.NewReader(good)), "SOUP list line 2: bufio.Scanner: token too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readSOUP(tc.in)
			wantInvalid(t, err, tc.want)
		})
	}
}

// TestReadSOUPStopsOnCallbackError: the callback's error is returned as it
// is, and nothing after it is read.
func TestReadSOUPStopsOnCallbackError(t *testing.T) {
	stop := errors.New("store full")
	calls := 0
	b := writeSOUP(t, soupEntries())
	err := evidence.ReadSOUP(bytes.NewReader(b), func(evidence.SOUPEntry) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("err = %v, want the callback's error unchanged", err)
	}
	if calls != 2 {
		t.Errorf("%d calls, want 2", calls)
	}
}

func TestSOUPEntryLabels(t *testing.T) {
	for _, tc := range []struct {
		e             evidence.SOUPEntry
		title, label  string
		hasDesignator bool
	}{
		{evidence.SOUPEntry{Name: "lwip", Version: "2.2.0", PURL: "pkg:generic/lwip@2.2.0"}, "lwip", "lwip@2.2.0", true},
		{evidence.SOUPEntry{Group: "org.jetbrains.kotlin", Name: "kotlin-stdlib", Version: "2.0.21", CPE: "cpe:2.3:a:x"}, "org.jetbrains.kotlin/kotlin-stdlib", "org.jetbrains.kotlin/kotlin-stdlib@2.0.21", true},
		{evidence.SOUPEntry{Name: "zlib", Version: "1.3", Hashes: []evidence.Hash{{Alg: "SHA-256", Value: "ab"}}}, "zlib", "zlib@1.3", true},
		{evidence.SOUPEntry{Name: "zlib", PURL: "pkg:generic/zlib"}, "zlib", "zlib", false}, // no version
		{evidence.SOUPEntry{Name: "zlib", Version: "1.3"}, "zlib", "zlib@1.3", false},       // nothing unique
	} {
		if got := tc.e.Title(); got != tc.title {
			t.Errorf("%+v: Title = %q, want %q", tc.e, got, tc.title)
		}
		if got := tc.e.Label(); got != tc.label {
			t.Errorf("%+v: Label = %q, want %q", tc.e, got, tc.label)
		}
		if got := tc.e.HasDesignator(); got != tc.hasDesignator {
			t.Errorf("%+v: HasDesignator = %t, want %t", tc.e, got, tc.hasDesignator)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteSOUPLineError(t *testing.T) {
	boom := errors.New("disk full")
	if err := evidence.WriteSOUPLine(failingWriter{boom}, evidence.SOUPEntry{Name: "a"}); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the writer's error", err)
	}
}

package evidence_test

import (
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"wm-firmware", true},
		{"wm_app.v2", true},
		{"A", true},
		{"9lives", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"-x", false},
		{".x", false},
		{"_x", false},
		{".", false},
		{"..", false},
		{"wm firmware", false},
		{"wm/firmware", false},
		{`wm\firmware`, false},
		{"wm@1", false},
		{"wm+1", false}, // '+' and '~' are for versions only
		{"wm~1", false},
		{"wärme", false},
		{"wm\n", false},
		{"wm\x00", false},
	} {
		err := evidence.ValidateName("components[0].name", tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%.20q) = %v, want ok=%t", tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("%.20q: kind %q, want invalid", tc.in, evidence.KindOf(err))
			}
			if !strings.HasPrefix(err.Error(), "components[0].name ") {
				t.Errorf("%.20q: error does not name the field: %v", tc.in, err)
			}
		}
	}
}

func TestValidateVersion(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2.4.0", true},
		{"2.4.0+b1187", true},
		{"1.0~rc1", true},
		{"1.0.0-beta.2", true},
		{"0014", true},
		{"v3", true},
		{strings.Repeat("1", 128), true},
		{strings.Repeat("1", 129), false},
		{"", false},
		{"+1", false},
		{"~1", false},
		{"-1", false},
		{".1", false},
		{"2.4.0 beta", false},
		{"2.4/0", false},
		{"2.4.0\n", false},
		{"2.4.0@x", false},
	} {
		err := evidence.ValidateVersion("product.version", tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateVersion(%.20q) = %v, want ok=%t", tc.in, err, tc.ok)
			continue
		}
		if err != nil && (!evidence.IsKind(err, evidence.KindInvalid) || !strings.HasPrefix(err.Error(), "product.version ")) {
			t.Errorf("%.20q: error %v (kind %q): want invalid, naming the field", tc.in, err, evidence.KindOf(err))
		}
	}
}

func TestValidateEvidenceName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for ok
	}{
		{"reports/unit.xml", ""},
		{"a b/c d.txt", ""},
		{".hidden/x", ""},
		{"", "evidence name is empty"},
		{strings.Repeat("a", 513), "longer than 512 bytes"},
		{`reports\unit.xml`, "backslashes and NUL are not allowed"},
		{"a\x00b", "backslashes and NUL are not allowed"},
		{"/etc/passwd", "must be a clean relative path inside the project"},
		{"../x", "must be a clean relative path"},
		{"..", "must be a clean relative path"},
		{".", "must be a clean relative path"},
		{"a/../b", "must be a clean relative path"},
		{"./a", "must be a clean relative path"},
		{"a/", "must be a clean relative path"},
	} {
		err := evidence.ValidateEvidenceName(tc.in)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ValidateEvidenceName(%.20q) = %v", tc.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateEvidenceName(%.20q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestParseReleaseRef(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    evidence.ReleaseRef
		wantErr string
	}{
		{"wearable-monitor@2.4.0", evidence.ReleaseRef{Product: "wearable-monitor", Version: "2.4.0"}, ""},
		{"wm@2.4.0+b1187", evidence.ReleaseRef{Product: "wm", Version: "2.4.0+b1187"}, ""},
		{"wm@1.0~rc1", evidence.ReleaseRef{Product: "wm", Version: "1.0~rc1"}, ""},
		{"wearable-monitor", evidence.ReleaseRef{}, `"wearable-monitor": want PRODUCT@VERSION`},
		{"", evidence.ReleaseRef{}, `"": want PRODUCT@VERSION`},
		{"wm@", evidence.ReleaseRef{}, "version is empty"},
		{"@2.4.0", evidence.ReleaseRef{}, "product is empty"},
		{"wm@1@2", evidence.ReleaseRef{}, `product "wm@1"`},
		{"wm monitor@1", evidence.ReleaseRef{}, `product "wm monitor"`},
		{"wm@1 2", evidence.ReleaseRef{}, `version "1 2"`},
		{"../wm@1", evidence.ReleaseRef{}, `product "../wm"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := evidence.ParseReleaseRef(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if !evidence.IsKind(err, evidence.KindInvalid) {
					t.Errorf("kind %q, want invalid", evidence.KindOf(err))
				}
				if got != (evidence.ReleaseRef{}) {
					t.Errorf("on error got %+v, want the zero ref", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseReleaseRef = %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestClasses(t *testing.T) {
	for _, tc := range []struct {
		c     evidence.Class
		valid bool
		rank  int
	}{
		{evidence.ClassA, true, 1}, {evidence.ClassB, true, 2}, {evidence.ClassC, true, 3},
		{"", false, 0}, {"c", false, 0}, {"D", false, 0},
	} {
		if tc.c.Valid() != tc.valid || tc.c.Rank() != tc.rank {
			t.Errorf("Class %q: Valid %t Rank %d; want %t %d", tc.c, tc.c.Valid(), tc.c.Rank(), tc.valid, tc.rank)
		}
	}
	for _, tc := range []struct {
		in   []evidence.Class
		want evidence.Class
	}{
		{nil, ""},
		{[]evidence.Class{evidence.ClassA}, evidence.ClassA},
		{[]evidence.Class{evidence.ClassB, evidence.ClassA}, evidence.ClassB},
		{[]evidence.Class{evidence.ClassA, evidence.ClassC, evidence.ClassB}, evidence.ClassC},
		{[]evidence.Class{"X", evidence.ClassA}, evidence.ClassA},
		{[]evidence.Class{"X"}, ""},
	} {
		if got := evidence.HighestClass(tc.in...); got != tc.want {
			t.Errorf("HighestClass(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestVocabularyValid(t *testing.T) {
	for _, k := range evidence.ComponentKinds {
		if !k.Valid() {
			t.Errorf("kind %q is listed but not valid", k)
		}
	}
	for _, l := range evidence.TestLevels {
		if !l.Valid() {
			t.Errorf("level %q is listed but not valid", l)
		}
	}
	for _, ty := range evidence.EvidenceTypes {
		if !ty.Valid() {
			t.Errorf("type %q is listed but not valid", ty)
		}
	}
	for _, bad := range []string{"", "Firmware", "service"} {
		if evidence.ComponentKind(bad).Valid() {
			t.Errorf("kind %q is valid", bad)
		}
	}
	for _, bad := range []string{"", "Unit", "acceptance"} {
		if evidence.TestLevel(bad).Valid() {
			t.Errorf("level %q is valid", bad)
		}
	}
	for _, bad := range []string{"", "SBOM", "screenshot"} {
		if evidence.EvidenceType(bad).Valid() {
			t.Errorf("type %q is valid", bad)
		}
	}
}

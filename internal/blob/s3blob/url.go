package s3blob

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalidURL is wrapped by every error of ParseURL (and of Open for a bad
// URL), so that a caller can tell a mistake in the configuration from a
// server that cannot be reached.
var ErrInvalidURL = errors.New("invalid S3 blob store URL")

// Query parameters of a store URL.
const (
	paramEndpoint    = "endpoint"
	paramRegion      = "region"
	paramPathStyle   = "path-style"
	paramConditional = "conditional-writes"
)

// Location is where a Store keeps its blobs, as named by a URL
//
//	s3://BUCKET[/PREFIX][?endpoint=URL][&region=REGION][&path-style=BOOL][&conditional-writes=BOOL]
//
// The query parameters are:
//
//   - endpoint: the base URL (http or https, scheme and host only) of an
//     S3-compatible server such as MinIO, Ceph RGW or versitygw. Without
//     it, the AWS endpoint of the region is used.
//   - region: the region to sign requests for. Without it, the region comes
//     from the AWS configuration (AWS_REGION, AWS_DEFAULT_REGION, the
//     profile's region); with an endpoint and no region anywhere,
//     us-east-1, which is what S3-compatible servers expect by default.
//   - path-style: address the bucket as http://HOST/BUCKET/KEY instead of
//     http://BUCKET.HOST/KEY. Default: true when an endpoint is given (most
//     S3-compatible servers need it), false for AWS.
//   - conditional-writes: whether the server honours If-None-Match: * on
//     PutObject and CompleteMultipartUpload (default true). A server that
//     answers 501 Not Implemented is detected by itself; set false for a
//     server that silently ignores the header (see Store).
//
// Credentials are never part of the URL: they come from the standard AWS
// environment variables and files.
type Location struct {
	// Bucket is the bucket name.
	Bucket string
	// Prefix is the key prefix, without leading or trailing slash; "" puts
	// the blobs at the top of the bucket.
	Prefix string
	// Endpoint is the server's base URL; "" for AWS.
	Endpoint string
	// Region is the signing region; "" for the AWS configuration's.
	Region string
	// PathStyle selects path-style addressing.
	PathStyle bool
	// ConditionalWrites is false when the server is known to ignore
	// conditional writes.
	ConditionalWrites bool
}

// ParseURL parses an s3:// URL (see Location). The errors wrap
// ErrInvalidURL and never repeat the URL as a whole, in case someone put a
// secret into it.
func ParseURL(raw string) (Location, error) {
	loc, err := parseURL(raw)
	if err != nil {
		return Location{}, fmt.Errorf("%w: %s", ErrInvalidURL, err)
	}
	return loc, nil
}

func parseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the input; say only what is wrong with it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Location{}, fmt.Errorf("not a URL: %v", err)
	}
	switch {
	case u.Scheme != "s3":
		return Location{}, errors.New(`the scheme must be "s3" (s3://BUCKET/PREFIX)`)
	case u.Opaque != "":
		return Location{}, errors.New("want s3://BUCKET/PREFIX, with two slashes")
	case u.User != nil:
		return Location{}, errors.New("credentials do not belong in the URL: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE and the shared credentials file")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return Location{}, errors.New("a fragment (#...) is not allowed")
	case u.Port() != "" || strings.HasSuffix(u.Host, ":"):
		return Location{}, errors.New("the bucket name is followed by a port: give the server with ?endpoint=URL")
	}
	loc := Location{Bucket: u.Host, ConditionalWrites: true}
	if err := checkBucket(loc.Bucket); err != nil {
		return Location{}, err
	}
	if loc.Prefix, err = cleanPrefix(u.Path); err != nil {
		return Location{}, err
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Location{}, errors.New("the query is malformed")
	}
	pathStyleSet := false
	for name, vals := range q {
		if len(vals) != 1 {
			return Location{}, fmt.Errorf("query parameter %q is given %d times", name, len(vals))
		}
		v := vals[0]
		switch name {
		case paramEndpoint:
			if err := checkEndpoint(v); err != nil {
				return Location{}, fmt.Errorf("query parameter %s: %v", name, err)
			}
			loc.Endpoint = strings.TrimSuffix(v, "/")
		case paramRegion:
			if !validRegion(v) {
				return Location{}, fmt.Errorf("query parameter %s: want letters, digits, '-', '_' or '.'", name)
			}
			loc.Region = v
		case paramPathStyle:
			if loc.PathStyle, err = strconv.ParseBool(v); err != nil {
				return Location{}, fmt.Errorf("query parameter %s: want true or false", name)
			}
			pathStyleSet = true
		case paramConditional:
			if loc.ConditionalWrites, err = strconv.ParseBool(v); err != nil {
				return Location{}, fmt.Errorf("query parameter %s: want true or false", name)
			}
		default:
			return Location{}, fmt.Errorf("unknown query parameter %q (known: %s, %s, %s, %s)",
				name, paramEndpoint, paramRegion, paramPathStyle, paramConditional)
		}
	}
	if !pathStyleSet {
		loc.PathStyle = loc.Endpoint != ""
	}
	return loc, nil
}

// checkBucket applies the bucket naming rules of AWS, which S3-compatible
// servers follow: 3 to 63 lower-case letters, digits, dots and hyphens,
// beginning and ending with a letter or digit.
func checkBucket(b string) error {
	if b == "" {
		return errors.New("no bucket: want s3://BUCKET/PREFIX")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q: want 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && c != '.' && c != '-' {
			return fmt.Errorf("bucket name %q: want lower-case letters, digits, '.' and '-'", b)
		}
		if !alnum && (i == 0 || i == len(b)-1) {
			return fmt.Errorf("bucket name %q: must begin and end with a letter or digit", b)
		}
	}
	return nil
}

// cleanPrefix turns the URL path into a key prefix without surrounding
// slashes. Empty, "." and ".." segments are refused: S3 would take them
// literally, but file-backed servers would not, and they are always a
// mistake.
func cleanPrefix(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", nil
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return "", errors.New("the prefix has an empty path segment (//)")
		case ".", "..":
			return "", fmt.Errorf("the prefix has a %q path segment", seg)
		}
	}
	if !utf8.ValidString(p) {
		return "", errors.New("the prefix is not valid UTF-8")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "", errors.New("the prefix contains a control character or a backslash")
		}
	}
	if len(p) > 512 {
		return "", errors.New("the prefix is longer than 512 bytes")
	}
	return p, nil
}

func checkEndpoint(v string) error {
	e, err := url.Parse(v)
	switch {
	case err != nil || e.Opaque != "":
		return errors.New("not a URL (want http://HOST:PORT or https://HOST)")
	case e.Scheme != "http" && e.Scheme != "https":
		return errors.New("the scheme must be http or https")
	case e.User != nil:
		return errors.New("credentials do not belong in the URL: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE and the shared credentials file")
	case e.Host == "":
		return errors.New("no host")
	case e.Path != "" && e.Path != "/", e.RawQuery != "", e.ForceQuery, e.Fragment != "":
		return errors.New("want the scheme and host only, without a path or query")
	}
	return nil
}

func validRegion(r string) bool {
	if r == "" || len(r) > 64 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// String returns the location as a URL that ParseURL parses back to it,
// with only the query parameters that differ from their defaults. It holds
// no secret, so it may be logged.
func (l Location) String() string {
	u := url.URL{Scheme: "s3", Host: l.Bucket}
	if l.Prefix != "" {
		u.Path = "/" + l.Prefix
	}
	var q []string
	if l.Endpoint != "" {
		q = append(q, paramEndpoint+"="+queryEscape(l.Endpoint))
	}
	if l.Region != "" {
		q = append(q, paramRegion+"="+queryEscape(l.Region))
	}
	if l.PathStyle != (l.Endpoint != "") {
		q = append(q, paramPathStyle+"="+strconv.FormatBool(l.PathStyle))
	}
	if !l.ConditionalWrites {
		q = append(q, paramConditional+"=false")
	}
	s := u.String()
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s
}

// queryEscape escapes a query value but leaves the ':' and '/' of an
// endpoint URL readable.
func queryEscape(v string) string {
	return strings.NewReplacer("%3A", ":", "%2F", "/").Replace(url.QueryEscape(v))
}

// name is the location without its query, for messages.
func (l Location) name() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}
